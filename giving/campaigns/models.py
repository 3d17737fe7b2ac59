"""Campaign models.

A campaign moves draft → in_review → live → closed; an admin may freeze a live (or closed)
campaign with a reason and unfreeze it. ``public_id`` never changes once issued: the ledger,
exports and reports name campaigns by it, while the slug is only for readable URLs.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giving.accounts.models import User
from giving.db import Base, utcnow


class CampaignState(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    LIVE = "live"
    CLOSED = "closed"
    FROZEN = "frozen"


class CampaignCategory(enum.StrEnum):
    EDUCATION = "education"
    FOOD = "food"
    HEALTH = "health"
    SHELTER = "shelter"
    TRANSPORT = "transport"
    OTHER = "other"


class OrganiserRole(enum.StrEnum):
    OWNER = "owner"
    CO_ORGANISER = "co_organiser"


class ContentLanguage(enum.StrEnum):
    ENGLISH = "en"
    CHINESE = "zh"


def _enum_check(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(24), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    summary: Mapped[str] = mapped_column(sa.String(300))
    story: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str] = mapped_column(sa.String(8), default=ContentLanguage.ENGLISH.value)
    goal_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    ends_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    region: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16), default=CampaignState.DRAFT.value)
    featured: Mapped[bool] = mapped_column(default=False)
    cover_image_key: Mapped[str | None] = mapped_column(sa.String(120))
    review_note: Mapped[str | None] = mapped_column(sa.Text)
    frozen_reason: Mapped[str | None] = mapped_column(sa.Text)
    state_before_freeze: Mapped[str | None] = mapped_column(sa.String(16))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column()
    published_at: Mapped[dt.datetime | None] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()

    organisers: Mapped[list[CampaignOrganiser]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CampaignOrganiser.added_at",
    )
    updates: Mapped[list[CampaignUpdate]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        order_by="CampaignUpdate.published_at.desc()",
    )

    __table_args__ = (
        sa.CheckConstraint("goal_minor > 0", name="goal_positive"),
        sa.CheckConstraint("currency IN ('CNY', 'USD', 'HKD', 'EUR')", name="currency_known"),
        sa.CheckConstraint(_enum_check("state", CampaignState), name="state_known"),
        sa.CheckConstraint(_enum_check("category", CampaignCategory), name="category_known"),
        sa.CheckConstraint(_enum_check("language", ContentLanguage), name="language_known"),
        sa.Index("ix_campaigns_state_published", "state", "published_at"),
    )

    @property
    def is_public(self) -> bool:
        return self.state in (CampaignState.LIVE, CampaignState.CLOSED, CampaignState.FROZEN)

    def organiser_ids(self) -> set[int]:
        return {row.user_id for row in self.organisers}


class CampaignOrganiser(Base):
    __tablename__ = "campaign_organisers"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16), default=OrganiserRole.OWNER.value)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="organisers")
    user: Mapped[User] = relationship(lazy="selectin")

    __table_args__ = (sa.CheckConstraint(_enum_check("role", OrganiserRole), name="role_known"),)


class CampaignInvitation(Base):
    """An invitation to co-organise; only the token's SHA-256 is stored."""

    __tablename__ = "campaign_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(254))
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    accepted_at: Mapped[dt.datetime | None] = mapped_column()
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    campaign: Mapped[Campaign] = relationship()


class CampaignUpdate(Base):
    __tablename__ = "campaign_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="updates")
    author: Mapped[User] = relationship(lazy="selectin")
