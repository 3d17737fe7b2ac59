"""Imports every model module so that ``Base.metadata`` knows all tables (for Alembic)."""

from __future__ import annotations

from giving.accounts import models as accounts_models
from giving.audit import models as audit_models
from giving.campaigns import models as campaigns_models
from giving.db import Base

__all__ = ["Base", "accounts_models", "audit_models", "campaigns_models"]
