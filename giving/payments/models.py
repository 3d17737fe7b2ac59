"""Payment models: what donors asked for, what was paid, and every webhook event received.

- ``DonationIntent``: a donor's request (amount, currency, name or anonymity, message,
  one-off or monthly). Pending until a paid charge arrives; never counted in any total.
  Only the SHA-256 of its receipt token is stored, and its donor commitment is the SHA-256
  of the donor secret printed on the receipt (the ledger entry carries the commitment).
- ``Donation``: one paid charge of an intent (a monthly gift has one per month), pointing
  at the ledger entry that recorded it. Money itself lives only in the ledger.
- ``StripeEvent``: every accepted webhook event, raw, append-only (database triggers refuse
  UPDATE and DELETE), unique by Stripe's event id so a redelivery is recognised.
- ``StripeEventState``: how far handling of an event got (handled, parked waiting for its
  payment, flagged, ignored, failed, rejected as unreadable); the mutable half, kept apart
  from the raw events.
- ``PaymentFlag``: something an admin must look at (amount mismatch, unknown intent, an
  event Giving cannot read...).
- ``SandboxObject``: the offline sandbox provider's own Stripe-shaped objects.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giving.campaigns.models import Campaign
from giving.db import Base, utcnow


class Frequency(enum.StrEnum):
    ONE_OFF = "one_off"
    MONTHLY = "monthly"


class IntentStatus(enum.StrEnum):
    PENDING = "pending"  # checkout started, nothing paid
    PROCESSING = "processing"  # checkout finished, a delayed method (e.g. bank) still settling
    PAID = "paid"
    FAILED = "failed"


class EventStatus(enum.StrEnum):
    RECEIVED = "received"
    HANDLED = "handled"
    PARKED = "parked"  # waits for its payment (e.g. a refund that arrived first)
    FLAGGED = "flagged"
    IGNORED = "ignored"
    FAILED = "failed"  # an error; a redelivery or a retry runs it again
    # Its fields are not what Stripe sends (an amount that is text...): it would fail the
    # same way every time, so it is never retried; an admin sees its flag.
    REJECTED = "rejected"


class FlagKind(enum.StrEnum):
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    UNKNOWN_INTENT = "unknown_intent"
    UNEXPECTED = "unexpected"
    MALFORMED_EVENT = "malformed_event"
    # Paid after the campaign's end date: recorded (the money moved), for its host to decide
    # on (return it, or keep it for the campaign's purpose with the donor's consent).
    AFTER_END = "after_end"


def _enum_check(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class DonationIntent(Base):
    __tablename__ = "donation_intents"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    frequency: Mapped[str] = mapped_column(sa.String(16), default=Frequency.ONE_OFF.value)
    display_name: Mapped[str | None] = mapped_column(sa.String(60))
    anonymous: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str | None] = mapped_column(sa.String(280))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    donor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    receipt_token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    donor_commitment: Mapped[str] = mapped_column(sa.String(64))
    provider: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=IntentStatus.PENDING.value)
    checkout_session_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    subscription_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[dt.datetime | None] = mapped_column()
    cancelled_at: Mapped[dt.datetime | None] = mapped_column()

    campaign: Mapped[Campaign] = relationship(lazy="joined")
    donations: Mapped[list[Donation]] = relationship(
        back_populates="intent", order_by="Donation.paid_at"
    )

    __table_args__ = (
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.CheckConstraint("currency IN ('CNY', 'USD', 'HKD', 'EUR')", name="currency_known"),
        sa.CheckConstraint(_enum_check("frequency", Frequency), name="frequency_known"),
        sa.CheckConstraint(_enum_check("status", IntentStatus), name="status_known"),
        sa.CheckConstraint("provider IN ('stripe', 'sandbox')", name="provider_known"),
        sa.Index("ix_donation_intents_campaign_status", "campaign_id", "status"),
    )

    @property
    def is_monthly(self) -> bool:
        return self.frequency == Frequency.MONTHLY

    @property
    def public_name(self) -> str | None:
        """The name the donor allowed to be shown, or None for an anonymous gift."""
        if self.anonymous or not self.display_name:
            return None
        return self.display_name


class Donation(Base):
    __tablename__ = "donations"

    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(sa.ForeignKey("donation_intents.id"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    provider: Mapped[str] = mapped_column(sa.String(16))
    charge_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    invoice_id: Mapped[str | None] = mapped_column(sa.String(255))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    fee_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    platform_fee_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    ledger_seq: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("ledger_entries.seq"), unique=True
    )
    paid_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    intent: Mapped[DonationIntent] = relationship(back_populates="donations")

    __table_args__ = (
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.Index("ix_donations_campaign_paid", "campaign_id", "paid_at"),
        sa.Index("ix_donations_intent_id", "intent_id"),  # a receipt's gifts
    )


class StripeEvent(Base):
    """A webhook event exactly as received (raw JSON text); rows are never changed."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    livemode: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    state: Mapped[StripeEventState] = relationship(back_populates="event", uselist=False)


class StripeEventState(Base):
    __tablename__ = "stripe_event_states"

    event_pk: Mapped[int] = mapped_column(sa.ForeignKey("stripe_events.id"), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=EventStatus.RECEIVED.value)
    waiting_for: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    event: Mapped[StripeEvent] = relationship(back_populates="state")

    __table_args__ = (sa.CheckConstraint(_enum_check("status", EventStatus), name="status_known"),)


class PaymentFlag(Base):
    __tablename__ = "payment_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    event_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("stripe_events.id"))
    intent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("donation_intents.id"))
    summary: Mapped[str] = mapped_column(sa.String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(sa.Text)

    event: Mapped[StripeEvent | None] = relationship()
    intent: Mapped[DonationIntent | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(_enum_check("kind", FlagKind), name="kind_known"),
        sa.Index("ix_payment_flags_open", "resolved_at", "created_at"),
    )


class SandboxObject(Base):
    """An object of the offline sandbox provider (session, charge...), shaped like Stripe's."""

    __tablename__ = "sandbox_objects"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    object: Mapped[str] = mapped_column(sa.String(40))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
