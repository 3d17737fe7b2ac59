"""Turning paid charges, refunds and disputes into ledger entries, exactly once each.

Each entry carries an external reference ``<processor object id>:<kind>`` (a charge, refund,
dispute or balance transaction id), and the ledger returns the existing entry when a ref is
repeated, so a redelivered or concurrently delivered event never records twice. Work on one
charge is also serialised with a transaction-level lock on the charge id: a refund that
arrives before its payment either sees the donation or parks itself where the payment will
find it, never neither (see handlers.py). Postings follow giving/ledger/rules.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.db import utcnow
from giving.ledger.canonical import Posting
from giving.ledger.models import LedgerEntry, LedgerPosting
from giving.ledger.rules import (
    DISPUTE,
    DISPUTE_ACCOUNT,
    DISPUTE_WON,
    DONATION,
    PLATFORM_FEE,
    PLATFORM_FEES_ACCOUNT,
    PROCESSOR_FEE,
    REFUND,
    REVERSAL,
    EntryDraft,
    draft_entry,
    fund_account,
)
from giving.ledger.sealing import seal
from giving.ledger.services import append_entry
from giving.payments.gateway import ChargeFacts
from giving.payments.models import Donation, DonationIntent, IntentStatus


class PaymentMismatch(Exception):
    """What the processor reports does not fit what Giving expected; an admin must look."""

    def __init__(self, kind: str, summary: str) -> None:
        super().__init__(summary)
        self.kind = kind
        self.summary = summary


def processor_account(provider: str) -> str:
    return f"processor:{provider}"


def platform_fee_minor(amount_minor: int, basis_points: int) -> int:
    """The platform's share, rounded half up to the minor unit."""
    return (amount_minor * basis_points * 2 + 10_000) // 20_000


def _charge_lock_key(charge_id: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"charge:{charge_id}".encode()).digest()[:8], "big", signed=True
    )


def lock_charge(session: Session, charge_id: str) -> None:
    """Serialise work on one charge until commit (PostgreSQL; SQLite has one writer anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(_charge_lock_key(charge_id))))


def donation_for_charge(session: Session, charge_id: str) -> Donation | None:
    return session.scalar(sa.select(Donation).where(Donation.charge_id == charge_id))


@dataclass(frozen=True)
class LockedCharges:
    """Charges locked together, with the donation already recorded for each (or None)."""

    donations: dict[str, Donation | None]


# Locks in the order of the array, which the caller sorts: two batches never deadlock.
_LOCK_CHARGES = sa.text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS BIGINT[])) AS k")


def lock_charges(session: Session, charge_ids: Sequence[str]) -> LockedCharges:
    """``lock_charge`` and ``donation_for_charge`` for a batch's charges, in two statements."""
    ids = sorted(set(charge_ids))
    if not ids:
        return LockedCharges({})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_CHARGES, {"keys": sorted(_charge_lock_key(c) for c in ids)})
    found = {
        donation.charge_id: donation
        for donation in session.scalars(sa.select(Donation).where(Donation.charge_id.in_(ids)))
    }
    return LockedCharges({charge: found.get(charge) for charge in ids})


@dataclass(frozen=True)
class RecordedPayment:
    donation: Donation
    created: bool


@dataclass(frozen=True)
class PlannedPayment:
    """A payment checked and drafted, its charge locked, waiting to be sealed with others.

    Everything here was done without the ledger lock; ``complete_payments`` takes it only to
    seal the drafts, so a batch of payments shares one lock and one commit (DESIGN §3).
    """

    intent: DonationIntent
    charge: ChargeFacts
    occurred_at: dt.datetime
    invoice_id: str | None
    platform_fee: int
    drafts: tuple[EntryDraft, ...]  # the donation first, then its fees


def draft_payment(
    intent: DonationIntent, charge: ChargeFacts, occurred_at: dt.datetime, platform_fee_bps: int
) -> tuple[EntryDraft, ...]:
    """The donation entry, then its processor and platform fees, for a charge already checked.

    Pure, so the bulk seeder (giving/payments/seeding.py) drafts exactly what a webhook does.
    """
    campaign = intent.campaign.public_id
    fund = fund_account(campaign)
    processor = processor_account(intent.provider)
    amount, currency = charge.amount_minor, charge.currency
    drafts = [
        draft_entry(
            campaign=campaign,
            kind=DONATION,
            postings=[Posting(processor, amount, currency), Posting(fund, -amount, currency)],
            occurred_at=occurred_at,
            ref=f"{charge.charge_id}:{DONATION}",
            memo="monthly gift" if intent.is_monthly else "",
            donor_commitment=intent.donor_commitment,
        )
    ]
    if charge.fee_minor > 0:
        drafts.append(
            draft_entry(
                campaign=campaign,
                kind=PROCESSOR_FEE,
                postings=[
                    Posting(fund, charge.fee_minor, currency),
                    Posting(processor, -charge.fee_minor, currency),
                ],
                occurred_at=occurred_at,
                ref=f"{charge.charge_id}:{PROCESSOR_FEE}",
                memo=charge.fee_note,
            )
        )
    platform_fee = platform_fee_minor(amount, platform_fee_bps)
    if platform_fee > 0:
        drafts.append(
            draft_entry(
                campaign=campaign,
                kind=PLATFORM_FEE,
                postings=[
                    Posting(fund, platform_fee, currency),
                    Posting(PLATFORM_FEES_ACCOUNT, -platform_fee, currency),
                ],
                occurred_at=occurred_at,
                ref=f"{charge.charge_id}:{PLATFORM_FEE}",
                memo=f"platform fee {platform_fee_bps} basis points",
            )
        )
    return tuple(drafts)


def plan_payment(
    session: Session,
    *,
    intent: DonationIntent,
    charge: ChargeFacts,
    occurred_at: dt.datetime,
    platform_fee_bps: int,
    invoice_id: str | None = None,
    locked: LockedCharges | None = None,
) -> Donation | PlannedPayment:
    """Lock the charge and draft its entries, or return the donation already recorded.

    A charge in ``locked`` was locked and looked up with its batch (``lock_charges``).
    Raises PaymentMismatch when the charge does not fit the gift.
    """
    if locked is not None and charge.charge_id in locked.donations:
        existing = locked.donations[charge.charge_id]
    else:
        lock_charge(session, charge.charge_id)
        existing = donation_for_charge(session, charge.charge_id)
    if existing is not None:
        return existing
    if charge.currency != intent.currency:
        raise PaymentMismatch(
            "currency_mismatch",
            f"charge {charge.charge_id} is in {charge.currency}, the gift in {intent.currency}",
        )
    if charge.amount_minor != intent.amount_minor:
        raise PaymentMismatch(
            "amount_mismatch",
            f"charge {charge.charge_id} is {charge.amount_minor} minor units, "
            f"the gift {intent.amount_minor}",
        )
    drafts = draft_payment(intent, charge, occurred_at, platform_fee_bps)
    platform_fee = platform_fee_minor(charge.amount_minor, platform_fee_bps)
    if intent.status != IntentStatus.PAID:  # written now, before the ledger lock is taken
        intent.status = IntentStatus.PAID.value
        intent.paid_at = occurred_at
    return PlannedPayment(intent, charge, occurred_at, invoice_id, platform_fee, drafts)


def complete_payments(session: Session, plans: Sequence[PlannedPayment]) -> list[Donation]:
    """Seal every plan's entries in one ``seal`` call, then write the donations (any order).

    The ledger lock is taken here, last, and held to the caller's commit, which writes the
    entries and the donations together: a donation never exists without its entries, nor
    entries without their donation. A refused draft raises and the caller rolls back.
    """
    if not plans:
        return []
    results = seal(session, [draft for plan in plans for draft in plan.drafts])
    rows: list[dict[str, object]] = []
    position = 0
    for plan in plans:
        first = results[position]
        for result in results[position : position + len(plan.drafts)]:
            if result.error is not None:
                raise result.error
        position += len(plan.drafts)
        assert first.seq is not None
        intent, charge = plan.intent, plan.charge
        rows.append(
            {
                "intent_id": intent.id,
                "campaign_id": intent.campaign_id,
                "provider": intent.provider,
                "charge_id": charge.charge_id,
                "invoice_id": plan.invoice_id,
                "amount_minor": charge.amount_minor,
                "currency": charge.currency,
                "fee_minor": max(charge.fee_minor, 0),
                "platform_fee_minor": plan.platform_fee,
                "ledger_seq": first.seq,
                "paid_at": plan.occurred_at,
            }
        )
    # One multi-row INSERT ... RETURNING for the batch (the unit of work sent one per row);
    # asking for the rows back in parameter order would make SQLite send one per row again.
    return list(session.scalars(sa.insert(Donation).returning(Donation), rows))


def record_payment(
    session: Session,
    *,
    intent: DonationIntent,
    charge: ChargeFacts,
    occurred_at: dt.datetime,
    platform_fee_bps: int,
    invoice_id: str | None = None,
) -> RecordedPayment:
    """The donation, its processor fee and the platform fee, as up to three entries (once)."""
    planned = plan_payment(
        session,
        intent=intent,
        charge=charge,
        occurred_at=occurred_at,
        platform_fee_bps=platform_fee_bps,
        invoice_id=invoice_id,
    )
    if isinstance(planned, Donation):
        return RecordedPayment(planned, created=False)
    (donation,) = complete_payments(session, [planned])
    return RecordedPayment(donation, created=True)


def _taken_back(session: Session, donation: Donation) -> int:
    """How much of a donation refunds and open or lost disputes have taken back so far."""
    fund = fund_account(donation.intent.campaign.public_id)
    disputes = sa.select(LedgerEntry.seq).where(
        LedgerEntry.reverses == donation.ledger_seq, LedgerEntry.kind == DISPUTE
    )
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerPosting.amount), 0))
        .join(LedgerEntry, LedgerEntry.seq == LedgerPosting.entry_seq)
        .where(
            sa.or_(
                sa.and_(
                    LedgerEntry.reverses == donation.ledger_seq,
                    LedgerEntry.kind.in_((REFUND, DISPUTE)),
                ),
                sa.and_(LedgerEntry.kind == DISPUTE_WON, LedgerEntry.reverses.in_(disputes)),
            ),
            LedgerPosting.account == fund,
            LedgerPosting.currency == donation.currency,
        )
    )
    return int(total or 0)


def entry_by_ref(session: Session, ref: str) -> LedgerEntry | None:
    return session.scalar(sa.select(LedgerEntry).where(LedgerEntry.ref == ref))


def record_refund(
    session: Session,
    *,
    donation: Donation,
    refund_id: str,
    amount_minor: int,
    currency: str,
    occurred_at: dt.datetime,
) -> bool:
    """A (full or partial) refund of a recorded donation; False if it was recorded before."""
    ref = f"{refund_id}:{REFUND}"
    if entry_by_ref(session, ref) is not None:
        return False
    _check_reversal_fits(session, donation, amount_minor, currency, what=f"refund {refund_id}")
    campaign = donation.intent.campaign.public_id
    append_entry(
        session,
        campaign=campaign,
        kind=REFUND,
        postings=[
            Posting(fund_account(campaign), amount_minor, currency),
            Posting(processor_account(donation.provider), -amount_minor, currency),
        ],
        occurred_at=occurred_at,
        ref=ref,
        reverses=donation.ledger_seq,
    )
    return True


def record_dispute(
    session: Session,
    *,
    donation: Donation,
    dispute_id: str,
    amount_minor: int,
    currency: str,
    occurred_at: dt.datetime,
) -> LedgerEntry:
    """Money frozen by a card dispute leaves the fund for ``dispute:held`` (once)."""
    ref = f"{dispute_id}:{DISPUTE}"
    existing = entry_by_ref(session, ref)
    if existing is not None:
        return existing
    _check_reversal_fits(session, donation, amount_minor, currency, what=f"dispute {dispute_id}")
    campaign = donation.intent.campaign.public_id
    return append_entry(
        session,
        campaign=campaign,
        kind=DISPUTE,
        postings=[
            Posting(fund_account(campaign), amount_minor, currency),
            Posting(DISPUTE_ACCOUNT, -amount_minor, currency),
        ],
        occurred_at=occurred_at,
        ref=ref,
        reverses=donation.ledger_seq,
    )


def record_dispute_won(
    session: Session,
    *,
    donation: Donation,
    dispute: LedgerEntry,
    dispute_id: str,
    occurred_at: dt.datetime,
) -> bool:
    """A won dispute returns the held money to the fund (once)."""
    ref = f"{dispute_id}:{DISPUTE_WON}"
    if entry_by_ref(session, ref) is not None:
        return False
    campaign = donation.intent.campaign.public_id
    held = [p for p in dispute.postings if p.account == DISPUTE_ACCOUNT]
    amount, currency = -held[0].amount, held[0].currency
    append_entry(
        session,
        campaign=campaign,
        kind=DISPUTE_WON,
        postings=[
            Posting(DISPUTE_ACCOUNT, amount, currency),
            Posting(fund_account(campaign), -amount, currency),
        ],
        occurred_at=occurred_at,
        ref=ref,
        reverses=dispute.seq,
    )
    return True


def record_dispute_fee(
    session: Session,
    *,
    donation: Donation,
    transaction_id: str,
    fee_minor: int,
    occurred_at: dt.datetime,
    note: str,
) -> None:
    """A dispute's fee is a processor fee; a fee the processor gives back reverses it."""
    campaign = donation.intent.campaign.public_id
    fund = fund_account(campaign)
    processor = processor_account(donation.provider)
    if fee_minor > 0:
        append_entry(
            session,
            campaign=campaign,
            kind=PROCESSOR_FEE,
            postings=[
                Posting(fund, fee_minor, donation.currency),
                Posting(processor, -fee_minor, donation.currency),
            ],
            occurred_at=occurred_at,
            ref=f"{transaction_id}:{PROCESSOR_FEE}",
            memo=note,
        )
        return
    # A returned fee: reverse the earlier dispute fee of the same size, if there is one.
    earlier = session.scalars(
        sa.select(LedgerEntry)
        .where(
            LedgerEntry.kind == PROCESSOR_FEE,
            LedgerEntry.campaign == campaign,
            LedgerEntry.ref.like("%:processor_fee"),
            LedgerEntry.memo.like("dispute fee%"),
        )
        .order_by(LedgerEntry.seq)
    )
    for entry in earlier:
        if any(p.account == fund and p.amount == -fee_minor for p in entry.postings):
            if session.scalar(sa.select(LedgerEntry.seq).where(LedgerEntry.reverses == entry.seq)):
                continue
            append_entry(
                session,
                campaign=campaign,
                kind=REVERSAL,
                postings=[Posting(p.account, -p.amount, p.currency) for p in entry.postings],
                occurred_at=occurred_at,
                ref=f"{transaction_id}:{REVERSAL}",
                memo=note,
                reverses=entry.seq,
            )
            return


def _check_reversal_fits(
    session: Session, donation: Donation, amount_minor: int, currency: str, *, what: str
) -> None:
    if currency != donation.currency:
        raise PaymentMismatch(
            "currency_mismatch", f"{what} is in {currency}, the donation in {donation.currency}"
        )
    already = _taken_back(session, donation)
    if amount_minor <= 0 or already + amount_minor > donation.amount_minor:
        raise PaymentMismatch(
            "amount_mismatch",
            f"{what} of {amount_minor} would take back more than the donation's "
            f"{donation.amount_minor} ({already} already refunded or disputed)",
        )


def mark_cancelled(intent: DonationIntent) -> None:
    if intent.cancelled_at is None:
        intent.cancelled_at = utcnow()
