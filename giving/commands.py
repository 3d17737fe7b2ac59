"""What every command-line command shares: a session of the app's database and a clean exit.

A ground-floor module, so each package's ``cli.py`` imports it and ``giving/cli.py`` imports
those packages, with no loop between them.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker


def cli_session() -> Session:
    """A new session on the app's database (the caller closes it)."""
    factory: sessionmaker[Session] = current_app.extensions["giving.sessionmaker"]
    return factory()


def fail(message: str, code: int = 2) -> None:
    """Print ``message`` as an error and exit (2: bad usage, the default)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)
