"""Read side of payments: recent supporters and flags for admins."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from giving.ledger.models import LedgerEntry
from giving.ledger.rules import DISPUTE, REFUND
from giving.payments.models import Donation, DonationIntent, FlagKind, PaymentFlag
from giving.scanner import child_codes, scan_text


@dataclass(frozen=True)
class Supporter:
    """A recent gift as the public sees it: a name only if the donor allowed it."""

    name: str | None
    message: str | None
    amount_minor: int
    currency: str
    given_at: dt.datetime


def recent_supporters(session: Session, campaign_id: int, *, limit: int = 5) -> list[Supporter]:
    """The latest gifts still standing: refunded or disputed ones are not shown as support."""
    taken_back = (
        sa.select(LedgerEntry.seq)
        .where(LedgerEntry.reverses == Donation.ledger_seq, LedgerEntry.kind.in_((REFUND, DISPUTE)))
        .exists()
    )
    stmt = (
        sa.select(Donation)
        .join(DonationIntent, DonationIntent.id == Donation.intent_id)
        .where(Donation.campaign_id == campaign_id, ~taken_back)
        .options(selectinload(Donation.intent))
        .order_by(Donation.paid_at.desc(), Donation.id.desc())
        .limit(limit)
    )
    donations = list(session.scalars(stmt))
    if not donations:
        return []
    codes = child_codes(session, campaign_id)

    def shown(text: str | None) -> str | None:
        # Names and messages are scanned when given; one stored before that (or before the
        # scanner learnt a pattern, or a child's code registered since) is withheld here.
        return text if text and not scan_text(text, child_codes=codes) else None

    return [
        Supporter(
            name=shown(donation.intent.public_name),
            message=shown(donation.intent.message),
            amount_minor=donation.amount_minor,
            currency=donation.currency,
            given_at=donation.paid_at,
        )
        for donation in donations
    ]


def payment_flags(
    session: Session, *, include_resolved: bool = False, limit: int = 200
) -> list[PaymentFlag]:
    stmt = (
        sa.select(PaymentFlag)
        .order_by(PaymentFlag.created_at.desc(), PaymentFlag.id.desc())
        .limit(limit)
    )
    if not include_resolved:
        stmt = stmt.where(PaymentFlag.resolved_at.is_(None))
    return list(session.scalars(stmt))


def late_gift_flags(session: Session, campaign_ids: list[int]) -> list[PaymentFlag]:
    """Open flags of gifts paid after their campaign's end, for its organisers and host."""
    if not campaign_ids:
        return []
    return list(
        session.scalars(
            sa.select(PaymentFlag)
            .join(DonationIntent, DonationIntent.id == PaymentFlag.intent_id)
            .where(
                PaymentFlag.kind == FlagKind.AFTER_END.value,
                PaymentFlag.resolved_at.is_(None),
                DonationIntent.campaign_id.in_(campaign_ids),
            )
            .options(selectinload(PaymentFlag.intent).selectinload(DonationIntent.campaign))
            .order_by(PaymentFlag.created_at, PaymentFlag.id)
        )
    )


def intent_by_public_id(session: Session, public_id: str) -> DonationIntent | None:
    return session.scalar(sa.select(DonationIntent).where(DonationIntent.public_id == public_id))
