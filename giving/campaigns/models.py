"""Campaign models.

A campaign moves draft → in_review → live → closed; an admin may freeze a live (or closed)
campaign with a reason and unfreeze it. ``public_id`` never changes once issued: the ledger,
exports and reports name campaigns by it, while the slug is only for readable URLs.
"""

from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from giving.accounts.models import User
from giving.db import Base, utcnow
from giving.money import Money


class CampaignState(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    LIVE = "live"
    CLOSED = "closed"
    FROZEN = "frozen"

    @property
    def label(self) -> str:
        """The state's name in the visitor's language."""
        return str(_STATE_LABELS[self])


class CampaignCategory(enum.StrEnum):
    EDUCATION = "education"
    FOOD = "food"
    HEALTH = "health"
    SHELTER = "shelter"
    TRANSPORT = "transport"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The category's name in the visitor's language."""
        return str(_CATEGORY_LABELS[self])


_STATE_LABELS = {
    CampaignState.DRAFT: _l("Draft"),
    CampaignState.IN_REVIEW: _l("In review"),
    CampaignState.LIVE: _l("Live"),
    CampaignState.CLOSED: _l("Closed"),
    CampaignState.FROZEN: _l("Frozen"),
}
_CATEGORY_LABELS = {
    CampaignCategory.EDUCATION: _l("Education"),
    CampaignCategory.FOOD: _l("Food"),
    CampaignCategory.HEALTH: _l("Health"),
    CampaignCategory.SHELTER: _l("Shelter"),
    CampaignCategory.TRANSPORT: _l("Transport"),
    CampaignCategory.OTHER: _l("Other"),
}
# A campaign's dates are days where it raises money. Giving serves campaigns in China first,
# so they are days in China Standard Time: a campaign ending on 1 March takes gifts until
# midnight at the end of 1 March in Beijing (16:00 UTC), wherever the donor or server is.
CAMPAIGN_TIME_ZONE = ZoneInfo("Asia/Shanghai")

# Anyone may read a campaign in these states; drafts and reviews are for organisers and admins.
PUBLIC_STATES = frozenset({CampaignState.LIVE, CampaignState.CLOSED, CampaignState.FROZEN})
# States a visitor can filter the campaign list by; frozen ones are reachable by link only.
LISTED_STATES = (CampaignState.LIVE, CampaignState.CLOSED)


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

    @validates("public_id")
    def _keep_public_id(self, _key: str, value: str) -> str:
        # The ledger, exports and reports name the campaign by this id: it is never reissued.
        current = self.__dict__.get("public_id")
        if current is not None and value != current:
            raise ValueError("a campaign's public id never changes")
        return value

    @property
    def is_public(self) -> bool:
        return self.state in PUBLIC_STATES

    @property
    def ends_at(self) -> dt.datetime | None:
        """The moment giving stops (UTC): the end of ``ends_on`` in CAMPAIGN_TIME_ZONE."""
        if self.ends_on is None:
            return None
        midnight = dt.datetime.combine(
            self.ends_on + dt.timedelta(days=1), dt.time(), tzinfo=CAMPAIGN_TIME_ZONE
        )
        return midnight.astimezone(dt.UTC)

    def has_ended(self, at: dt.datetime) -> bool:
        """Whether the end date was over at ``at`` (timezone-aware)."""
        ends_at = self.ends_at
        return ends_at is not None and at >= ends_at

    def takes_gifts(self, at: dt.datetime) -> bool:
        """Live and not past its end date: the one rule every way of giving checks."""
        return self.state == CampaignState.LIVE and not self.has_ended(at)

    @property
    def state_enum(self) -> CampaignState:
        return CampaignState(self.state)

    @property
    def category_enum(self) -> CampaignCategory:
        return CampaignCategory(self.category)

    @property
    def goal(self) -> Money:
        return Money(self.goal_minor, self.currency)

    def organiser_ids(self) -> set[int]:
        return {row.user_id for row in self.organisers}

    def is_organiser(self, user: User | None) -> bool:
        return user is not None and user.id in self.organiser_ids()


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
