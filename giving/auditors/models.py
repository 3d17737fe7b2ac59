"""An auditor's grant: read access to one campaign until ``expires_at``.

An admin may revoke a grant early, the only change a grant ever sees.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.db import Base, utcnow


class AuditorGrant(Base):
    __tablename__ = "auditor_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    auditor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    granted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    auditor: Mapped[User] = relationship(foreign_keys=[auditor_id], lazy="selectin")
    campaign: Mapped[Campaign] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("expires_at > granted_at", name="expires_after_grant"),
        sa.Index("ix_auditor_grants_auditor_expires", "auditor_id", "expires_at"),
        sa.Index("ix_auditor_grants_campaign_id", "campaign_id"),
    )

    def is_active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.granted_at <= now < self.expires_at
