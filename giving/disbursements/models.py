"""Disbursement models: budget lines, spending requests, their evidence, and the activity log.

A disbursement is *requested* by an organiser, then *approved* or *rejected* by someone else
(a finance member of the campaign's host, or an admin); only approval posts a
``disbursement`` entry to the ledger (``ledger_seq``), carrying the SHA-256 digests of the
evidence files, so the public ledger commits to exactly the files that were approved. An
approved disbursement may later be *reversed*, which posts a ``reversal`` entry
(``reversal_seq``). The request row holds the current state; the history of every step lives
in ``disbursement_activity``, which database triggers (migration 0004) make INSERT-only, like
the ledger.

Evidence originals are private. An organiser may add a redacted copy (e.g. a receipt with an
address blacked out); once published, the public sees that copy beside the original's digest.
A published copy can be taken down again (an address left visible), and a file can be declared
after upload to show a child (migration 0008), which takes its copy down for good.

A file that shows children (``shows_children``) names them in ``disbursement_evidence_children``
and is never published, not even redacted. That table is INSERT-only (migration 0007): what a
file shows is a fact about its bytes, which never change, and a link that could be deleted
could no longer stop the file when a guardian withdraws consent. Withdrawal (or erasure of the
child's record) *withholds* the file instead: ``withheld_at`` is set, the stored bytes are
deleted, and only the digest remains, so the ledger entries that list it still verify.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giving.accounts.models import User
from giving.campaigns.models import Campaign, CampaignCategory
from giving.db import Base, utcnow
from giving.money import Money

# Spending categories are the campaign categories: food, education, health, shelter, ...
Category = CampaignCategory
_CATEGORY_CHECK = "category IN ({})".format(", ".join(repr(c.value) for c in Category))
_CURRENCY_CHECK = "currency IN ('CNY', 'USD', 'HKD', 'EUR')"


class DisbursementState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVERSED = "reversed"

    @property
    def label(self) -> str:
        """The state's name in the visitor's language."""
        return str(_STATE_LABELS[self])


_STATE_LABELS = {
    DisbursementState.REQUESTED: _l("Waiting for approval"),
    DisbursementState.APPROVED: _l("Approved"),
    DisbursementState.REJECTED: _l("Rejected"),
    DisbursementState.REVERSED: _l("Reversed"),
}


class ActivityKind(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVERSED = "reversed"
    EVIDENCE_ADDED = "evidence_added"
    EVIDENCE_PUBLISHED = "evidence_published"
    EVIDENCE_WITHHELD = "evidence_withheld"
    EVIDENCE_UNPUBLISHED = "evidence_unpublished"
    EVIDENCE_SHOWS_CHILDREN = "evidence_shows_children"
    BUDGET_SET = "budget_set"

    @property
    def label(self) -> str:
        return str(_ACTIVITY_LABELS[self])


_ACTIVITY_LABELS = {
    ActivityKind.REQUESTED: _l("Disbursement requested"),
    ActivityKind.APPROVED: _l("Disbursement approved"),
    ActivityKind.REJECTED: _l("Disbursement rejected"),
    ActivityKind.REVERSED: _l("Disbursement reversed"),
    ActivityKind.EVIDENCE_ADDED: _l("Evidence added"),
    ActivityKind.EVIDENCE_PUBLISHED: _l("Redacted evidence published"),
    ActivityKind.EVIDENCE_WITHHELD: _l("Evidence withheld"),
    ActivityKind.EVIDENCE_UNPUBLISHED: _l("Redacted evidence taken down"),
    ActivityKind.EVIDENCE_SHOWS_CHILDREN: _l("Evidence declared to show a child"),
    ActivityKind.BUDGET_SET: _l("Budget changed"),
}


class WithheldReason(enum.StrEnum):
    """Why an evidence file showing a child was withheld."""

    CONSENT_WITHDRAWN = "consent_withdrawn"
    CHILD_ERASED = "child_erased"
    # Declared after upload to show a child with no recorded consent (or no record at all).
    NO_CONSENT = "no_consent"

    @property
    def label(self) -> str:
        return str(_WITHHELD_LABELS[self])


_WITHHELD_LABELS = {
    WithheldReason.CONSENT_WITHDRAWN: _l("A guardian withdrew consent for a child it shows."),
    WithheldReason.CHILD_ERASED: _l("The record of a child it shows was erased."),
    WithheldReason.NO_CONSENT: _l("It shows a child whose guardian's consent is not recorded."),
}


class BudgetLine(Base):
    """Planned spending on one category, in the campaign's currency (minor units)."""

    __tablename__ = "campaign_budget_lines"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (
        sa.CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        sa.CheckConstraint(_CATEGORY_CHECK, name="category_known"),
        sa.CheckConstraint(_CURRENCY_CHECK, name="currency_known"),
    )


class Disbursement(Base):
    """A request to pay money out of a campaign's fund, and what became of it."""

    __tablename__ = "disbursements"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    payee: Mapped[str] = mapped_column(sa.String(200))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    category: Mapped[str] = mapped_column(sa.String(16))
    spent_on: Mapped[dt.date] = mapped_column(sa.Date)
    # Public once approved (scanned for identifying text before publication).
    description: Mapped[str] = mapped_column(sa.Text)
    # Groups reached, e.g. "Grade 3 class"; individual children are linked by giving/impact.
    groups_reached: Mapped[str] = mapped_column(sa.String(300), default="")
    people_reached: Mapped[int | None] = mapped_column()
    state: Mapped[str] = mapped_column(sa.String(16), default=DisbursementState.REQUESTED.value)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    ledger_seq: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("ledger_entries.seq"), unique=True
    )
    reversed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reversed_at: Mapped[dt.datetime | None] = mapped_column()
    reversal_reason: Mapped[str | None] = mapped_column(sa.Text)
    reversal_seq: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("ledger_entries.seq"), unique=True
    )

    campaign: Mapped[Campaign] = relationship(lazy="selectin")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id], lazy="selectin")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="selectin")
    reversed_by: Mapped[User | None] = relationship(foreign_keys=[reversed_by_id], lazy="selectin")
    evidence: Mapped[list[EvidenceFile]] = relationship(
        back_populates="disbursement",
        lazy="selectin",
        order_by="EvidenceFile.id",
    )

    __table_args__ = (
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.CheckConstraint(_CATEGORY_CHECK, name="category_known"),
        sa.CheckConstraint(_CURRENCY_CHECK, name="currency_known"),
        sa.CheckConstraint(
            "state IN ('requested', 'approved', 'rejected', 'reversed')", name="state_known"
        ),
        # Approved and reversed requests are in the ledger; the others never are.
        sa.CheckConstraint(
            "(state IN ('approved', 'reversed')) = (ledger_seq IS NOT NULL)", name="ledger_iff_paid"
        ),
        sa.CheckConstraint(
            "(state = 'reversed') = (reversal_seq IS NOT NULL)", name="reversal_iff_reversed"
        ),
        sa.CheckConstraint(
            "people_reached IS NULL OR people_reached >= 0", name="people_not_negative"
        ),
        sa.Index("ix_disbursements_campaign_state", "campaign_id", "state"),
    )

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def state_enum(self) -> DisbursementState:
        return DisbursementState(self.state)

    @property
    def category_enum(self) -> CampaignCategory:
        return CampaignCategory(self.category)

    @property
    def is_public(self) -> bool:
        """Approved spending (and its later reversal) is shown to everyone."""
        return self.state in (DisbursementState.APPROVED, DisbursementState.REVERSED)


class EvidenceFile(Base):
    """One evidence file: the private original (by digest) and an optional redacted copy."""

    __tablename__ = "disbursement_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random and unguessable; URLs name evidence by it, never by id or storage key.
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    disbursement_id: Mapped[int] = mapped_column(sa.ForeignKey("disbursements.id"))
    storage_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    redacted_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    redacted_content_type: Mapped[str | None] = mapped_column(sa.String(40))
    redacted_size_bytes: Mapped[int | None] = mapped_column()
    redacted_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    caption: Mapped[str] = mapped_column(sa.String(300), default="")
    published_at: Mapped[dt.datetime | None] = mapped_column()
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Declared at upload, or later (never undone); the children it shows are in
    # disbursement_evidence_children.
    shows_children: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    withheld_at: Mapped[dt.datetime | None] = mapped_column()
    withheld_reason: Mapped[str | None] = mapped_column(sa.String(24))

    disbursement: Mapped[Disbursement] = relationship(back_populates="evidence")

    __table_args__ = (
        sa.UniqueConstraint("disbursement_id", "sha256"),
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
        sa.CheckConstraint(
            "(published_at IS NULL) OR (redacted_key IS NOT NULL)", name="published_has_copy"
        ),
        sa.CheckConstraint(
            "NOT shows_children OR (published_at IS NULL AND redacted_key IS NULL)",
            name="child_file_never_public",
        ),
        sa.CheckConstraint(
            "(withheld_at IS NULL AND withheld_reason IS NULL) OR (shows_children "
            "AND withheld_reason IN ({}))".format(", ".join(repr(r.value) for r in WithheldReason)),
            name="withheld_child_file_with_reason",
        ),
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None and self.redacted_key is not None

    @property
    def is_withheld(self) -> bool:
        return self.withheld_at is not None

    @property
    def withheld_reason_enum(self) -> WithheldReason | None:
        return WithheldReason(self.withheld_reason) if self.withheld_reason else None


class EvidenceChild(Base):
    """A registered child that an evidence file shows; rows are never updated or deleted."""

    __tablename__ = "disbursement_evidence_children"

    evidence_id: Mapped[int] = mapped_column(
        sa.ForeignKey("disbursement_evidence.id"), primary_key=True
    )
    child_id: Mapped[int] = mapped_column(
        sa.ForeignKey("beneficiary_children.id"), primary_key=True
    )
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    declared_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.Index("ix_disbursement_evidence_children_child", "child_id"),)


class DisbursementActivity(Base):
    """One step in a campaign's spending history; rows are never updated or deleted."""

    __tablename__ = "disbursement_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    disbursement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("disbursements.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    actor: Mapped[User | None] = relationship(lazy="selectin")

    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ({})".format(", ".join(repr(k.value) for k in ActivityKind)),
            name="kind_known",
        ),
        sa.Index("ix_disbursement_activity_campaign_id", "campaign_id", "id"),
    )

    @property
    def kind_enum(self) -> ActivityKind:
        return ActivityKind(self.kind)
