"""Host organisation models: the organisation, its members, and which campaign it hosts.

Charity law in China (and elsewhere) lets only a registered charity hold publicly raised
funds, so every campaign is hosted by one. Its *finance* members approve the campaign's
disbursements; plain *members* may follow the campaign's books but not approve. The link from
a campaign to its host lives in ``campaign_hosting`` (one row per campaign) rather than on the
campaign itself, so the campaign models do not depend on hosts (the campaign rules only ask
whether a row exists: no campaign is submitted or approved without one).
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giving.accounts.models import User
from giving.db import Base, utcnow


class HostRole(enum.StrEnum):
    FINANCE = "finance"
    MEMBER = "member"

    @property
    def label(self) -> str:
        """The role's name in the visitor's language."""
        return str(_ROLE_LABELS[self])


_ROLE_LABELS = {HostRole.FINANCE: _l("Finance"), HostRole.MEMBER: _l("Member")}


class HostOrganisation(Base):
    __tablename__ = "host_organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    registration_number: Mapped[str] = mapped_column(sa.String(64))
    # ISO 3166-1 alpha-2, upper case (e.g. "CN").
    country: Mapped[str] = mapped_column(sa.String(2))
    contact_email: Mapped[str] = mapped_column(sa.String(254))
    contact_phone: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    members: Mapped[list[HostMember]] = relationship(
        back_populates="host",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="HostMember.added_at",
    )

    __table_args__ = (
        sa.UniqueConstraint("country", "registration_number"),
        sa.CheckConstraint("length(country) = 2", name="country_code"),
    )

    def member_role(self, user: User | None) -> HostRole | None:
        if user is None:
            return None
        for member in self.members:
            if member.user_id == user.id:
                return HostRole(member.role)
        return None


class HostMember(Base):
    __tablename__ = "host_members"

    host_id: Mapped[int] = mapped_column(
        sa.ForeignKey("host_organisations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16), default=HostRole.MEMBER.value)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    host: Mapped[HostOrganisation] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="selectin")

    __table_args__ = (
        sa.CheckConstraint("role IN ('finance', 'member')", name="role_known"),
        sa.Index("ix_host_members_user_id", "user_id"),
    )

    @property
    def role_enum(self) -> HostRole:
        return HostRole(self.role)


class CampaignHosting(Base):
    """Which host organisation holds a campaign's funds (at most one per campaign)."""

    __tablename__ = "campaign_hosting"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    host_id: Mapped[int] = mapped_column(sa.ForeignKey("host_organisations.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    assigned_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    host: Mapped[HostOrganisation] = relationship(lazy="selectin")

    __table_args__ = (sa.Index("ix_campaign_hosting_host_id", "host_id"),)
