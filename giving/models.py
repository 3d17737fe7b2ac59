"""Imports every model module so that ``Base.metadata`` knows all tables (for Alembic)."""

from __future__ import annotations

from giving.accounts import models as accounts_models
from giving.audit import models as audit_models
from giving.campaigns import models as campaigns_models
from giving.db import Base
from giving.disbursements import models as disbursements_models
from giving.hosts import models as hosts_models
from giving.impact import models as impact_models
from giving.ledger import models as ledger_models
from giving.payments import models as payments_models
from giving.reports import models as reports_models

__all__ = [
    "Base",
    "accounts_models",
    "audit_models",
    "campaigns_models",
    "disbursements_models",
    "hosts_models",
    "impact_models",
    "ledger_models",
    "payments_models",
    "reports_models",
]
