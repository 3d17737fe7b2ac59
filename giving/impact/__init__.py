"""Children helped: the pseudonymous registry, its encryption, access log and public figures.

Importing the package installs its registry as the source of children's codes for the
public-text scanner (giving/scanner.py), which packages below this one use.
"""

from giving import scanner
from giving.impact.queries import registered_codes

scanner.use_child_codes(registered_codes)
