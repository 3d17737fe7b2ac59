"""Beneficiary children, the disbursements that reached them, and who read their records.

A child is registered per campaign under a generated pseudonymous code. Only coarse,
non-identifying attributes are stored in the clear (age band, sex, province, needs
categories, consent); the free text and the finer place (notes, city, needs detail) are
encrypted by ``giving.impact.crypto`` and named ``*_enc`` here. URLs use the random ``ref``,
never the sequential id, so a URL does not hint at how many children other campaigns have.

Erasure keeps the row as a tombstone (``erased_at`` set, code and encrypted fields wiped):
the ids in the append-only access log must never be reused for another child, and the
coarse attributes of a child a disbursement reached stay so that published figures remain
reproducible. A tombstone of a child nobody reached keeps nothing but its id.

``child_access_log`` is append-only (database triggers refuse UPDATE and DELETE): one row per
read of a child's record, naming the reader, the child and what was read.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from giving.campaigns.models import CampaignCategory
from giving.db import Base, utcnow


class AgeBand(enum.StrEnum):
    INFANT = "0-2"
    EARLY = "3-5"
    PRIMARY = "6-11"
    LOWER_SECONDARY = "12-14"
    UPPER_SECONDARY = "15-17"

    @property
    def label(self) -> str:
        return str(_AGE_LABELS[self])


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNSPECIFIED = "unspecified"

    @property
    def label(self) -> str:
        return str(_SEX_LABELS[self])


# A child's needs are named by the categories campaigns raise money for and disbursements are
# spent on (one enum, one set of labels), so children helped by category lines up with spending.
Need = CampaignCategory


class AccessKind(enum.StrEnum):
    """What a reader saw: a line in the list, or the full (decrypted) record."""

    LISTED = "listed"
    VIEWED = "viewed"
    EDIT_FORM = "edit_form"


_AGE_LABELS = {
    AgeBand.INFANT: _l("0 to 2 years"),
    AgeBand.EARLY: _l("3 to 5 years"),
    AgeBand.PRIMARY: _l("6 to 11 years"),
    AgeBand.LOWER_SECONDARY: _l("12 to 14 years"),
    AgeBand.UPPER_SECONDARY: _l("15 to 17 years"),
}
_SEX_LABELS = {
    Sex.FEMALE: _l("Female"),
    Sex.MALE: _l("Male"),
    Sex.UNSPECIFIED: _l("Not stated"),
}


def _values_check(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class BeneficiaryChild(Base):
    __tablename__ = "beneficiary_children"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(24), unique=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    # NULL once erased; unique per campaign while set (NULLs never clash).
    code: Mapped[str | None] = mapped_column(sa.String(24))
    age_band: Mapped[str | None] = mapped_column(sa.String(8))
    sex: Mapped[str | None] = mapped_column(sa.String(12))
    province: Mapped[str | None] = mapped_column(sa.String(16))
    needs: Mapped[str | None] = mapped_column(sa.String(120))
    consent: Mapped[bool | None] = mapped_column()
    consent_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    city_enc: Mapped[str | None] = mapped_column(sa.Text)
    needs_detail_enc: Mapped[str | None] = mapped_column(sa.Text)
    notes_enc: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column()
    erased_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "code"),
        sa.CheckConstraint(
            "age_band IS NULL OR " + _values_check("age_band", AgeBand), name="age_band_known"
        ),
        sa.CheckConstraint("sex IS NULL OR " + _values_check("sex", Sex), name="sex_known"),
        # A live record always has its code, age band and consent answer.
        sa.CheckConstraint(
            "erased_at IS NOT NULL OR (code IS NOT NULL AND age_band IS NOT NULL "
            "AND consent IS NOT NULL)",
            name="live_record_complete",
        ),
        sa.CheckConstraint(
            "erased_at IS NULL OR (code IS NULL AND city_enc IS NULL AND notes_enc IS NULL "
            "AND needs_detail_enc IS NULL AND consent_date IS NULL)",
            name="erased_record_wiped",
        ),
        sa.Index("ix_beneficiary_children_campaign", "campaign_id", "erased_at"),
    )

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def need_list(self) -> list[Need]:
        return [Need(value) for value in (self.needs or "").split(",") if value]

    @property
    def age_band_enum(self) -> AgeBand | None:
        return AgeBand(self.age_band) if self.age_band else None

    @property
    def sex_enum(self) -> Sex | None:
        return Sex(self.sex) if self.sex else None


class DisbursementBeneficiary(Base):
    """A child a disbursement reached; the same child may be reached by many."""

    __tablename__ = "disbursement_beneficiaries"

    disbursement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("disbursements.id", ondelete="CASCADE"), primary_key=True
    )
    child_id: Mapped[int] = mapped_column(
        sa.ForeignKey("beneficiary_children.id"), primary_key=True
    )
    linked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    linked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.Index("ix_disbursement_beneficiaries_child", "child_id"),)


class ChildAccessLog(Base):
    """One read of a child's record; rows are only ever inserted."""

    __tablename__ = "child_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    # Deliberately not a foreign key: the log outlives nothing it names, and a child's
    # tombstone keeps the id, so it always points at the same (possibly erased) record.
    child_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(16))

    __table_args__ = (
        sa.CheckConstraint(_values_check("kind", AccessKind), name="kind_known"),
        sa.Index("ix_child_access_log_campaign", "campaign_id", "occurred_at"),
        sa.Index("ix_child_access_log_child", "child_id"),
    )
