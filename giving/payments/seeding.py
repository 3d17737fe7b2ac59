"""Seeding a campaign with many sandbox gifts at once, for benchmarks and load tests.

A viral campaign has hundreds of thousands of gifts; measuring pages at that size needs
them in minutes, not the hours one webhook per gift would take. The seeder skips only what
protects a live webhook (the charge lock, the duplicate lookup, the stored event) and keeps
everything that shapes the books: each gift is an intent created paid, a charge read by the
real ``charge_facts`` from a sandbox-shaped charge, entries drafted by ``draft_payment`` and
sealed with their donation rows by ``complete_payments``, a batch per transaction. So the
entries, hashes, tree and derived figures are the ones the webhook path would have written,
and ``giving ledger verify`` passes afterwards.

Gift ``n`` of a campaign has the receipt token ``receipt_token(campaign, n)``, so a benchmark
can open any donor's receipt page without keeping a list of a million tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from giving.campaigns.models import Campaign
from giving.db import transaction, utcnow
from giving.payments.bookkeeping import (
    PlannedPayment,
    complete_payments,
    draft_payment,
    platform_fee_minor,
)
from giving.payments.gateway import charge_facts
from giving.payments.models import DonationIntent, Frequency, IntentStatus
from giving.payments.sandbox_flows import sandbox_fee
from giving.payments.services import donor_commitment, donor_secret, hash_token

DEFAULT_BATCH = 2_000
# Gift sizes a grassroots campaign sees, in major units: mostly small, a few large.
AMOUNTS = (5, 10, 10, 20, 20, 20, 50, 50, 100, 100, 200, 500, 1_200)
NAMES = ("李伟", "王芳", "Chen Jing", "张敏", "Liu Yang", "赵磊", "Wang Xiu", "周婷")
MESSAGES = ("加油！", "For the children", "希望孩子们吃饱", "Good luck with the school", "")


class SeedRefused(Exception):
    """The campaign cannot take seeded gifts (missing, or not live)."""


@dataclass(frozen=True)
class Seeded:
    campaign: str
    first: int  # the index of the first gift seeded this time
    count: int
    entries: int


def receipt_token(campaign: str, n: int) -> str:
    """The receipt token of seeded gift ``n`` (secret only in name: for benchmarks)."""
    return hashlib.sha256(f"seeded gift {campaign} {n}".encode()).hexdigest()[:43]


def seeded_gifts(session: Session, campaign: Campaign) -> int:
    """How many seeded gifts the campaign has, so a later run continues the numbering."""
    prefix = f"di_seed_{campaign.id}_"
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(DonationIntent)
        .where(DonationIntent.campaign_id == campaign.id)
        .where(DonationIntent.public_id.startswith(prefix))
    )
    return int(count or 0)


def seed_gifts(
    factory: sessionmaker[Session],
    campaign_public_id: str,
    count: int,
    *,
    platform_fee_bps: int = 0,
    spacing: dt.timedelta = dt.timedelta(seconds=1),
    batch: int = DEFAULT_BATCH,
) -> Seeded:
    """Add ``count`` paid sandbox gifts to a live campaign, ``batch`` per transaction.

    Gifts are numbered on from any seeded before, and dated ``spacing`` apart ending now.
    """
    if count < 0 or batch < 1:
        raise ValueError("count must be at least 0 and batch at least 1")
    with factory() as session:
        campaign = session.scalar(
            sa.select(Campaign).where(Campaign.public_id == campaign_public_id)
        )
        if campaign is None:
            raise SeedRefused(f"no campaign {campaign_public_id!r}")
        if campaign.state != "live":
            raise SeedRefused(f"campaign {campaign_public_id!r} is {campaign.state}, not live")
        first = seeded_gifts(session, campaign)
    start_at = utcnow() - spacing * count
    entries = 0
    for offset in range(0, count, batch):
        size = min(batch, count - offset)
        with factory() as session, transaction(session):
            campaign = session.scalars(
                sa.select(Campaign).where(Campaign.public_id == campaign_public_id)
            ).one()
            plans = _plan_batch(
                session,
                campaign,
                first + offset,
                size,
                start_at + spacing * offset,
                spacing,
                platform_fee_bps,
            )
            donations = complete_payments(session, plans)
            entries += sum(len(plan.drafts) for plan in plans)
            assert len(donations) == size
    _refresh_statistics(factory)
    return Seeded(campaign_public_id, first, count, entries)


def _refresh_statistics(factory: sessionmaker[Session]) -> None:
    """Let PostgreSQL's planner see the new rows now rather than at autovacuum's next pass.

    Planned against the statistics of an empty campaign, a query that should probe an index
    per gift (recent supporters' refund check) scans the whole ledger instead.
    """
    with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            with transaction(session):
                session.execute(sa.text("ANALYZE"))


def _plan_batch(
    session: Session,
    campaign: Campaign,
    first: int,
    size: int,
    start_at: dt.datetime,
    spacing: dt.timedelta,
    platform_fee_bps: int,
) -> list[PlannedPayment]:
    """Intents (flushed, for their ids) and their checked, drafted payments."""
    intents: list[DonationIntent] = []
    for n in range(first, first + size):
        token = receipt_token(campaign.public_id, n)
        named = n % 3 == 0
        when = start_at + spacing * (n - first)
        intents.append(
            DonationIntent(
                public_id=f"di_seed_{campaign.id}_{n}",
                campaign_id=campaign.id,
                campaign=campaign,
                amount_minor=_amount_minor(n),
                currency=campaign.currency,
                frequency=Frequency.ONE_OFF.value,
                display_name=NAMES[n % len(NAMES)] if named else None,
                anonymous=not named,
                message=(MESSAGES[n % len(MESSAGES)] or None) if n % 7 == 0 else None,
                receipt_token_sha256=hash_token(token),
                donor_commitment=donor_commitment(donor_secret(token)),
                provider="sandbox",
                status=IntentStatus.PAID.value,
                created_at=when,
                paid_at=when,
            )
        )
    session.add_all(intents)
    session.flush()
    plans = []
    for n, intent in enumerate(intents, start=first):
        charge = charge_facts(_sandbox_charge(campaign.id, n, intent))
        assert intent.paid_at is not None
        plans.append(
            PlannedPayment(
                intent=intent,
                charge=charge,
                occurred_at=intent.paid_at,
                invoice_id=None,
                platform_fee=platform_fee_minor(charge.amount_minor, platform_fee_bps),
                drafts=draft_payment(intent, charge, intent.paid_at, platform_fee_bps),
            )
        )
    return plans


def _amount_minor(n: int) -> int:
    return AMOUNTS[(n * 7919) % len(AMOUNTS)] * 100  # every currency Giving takes has cents


def _sandbox_charge(campaign_id: int, n: int, intent: DonationIntent) -> dict[str, object]:
    """A paid charge shaped like the sandbox's (and Stripe's), with its balance transaction."""
    currency = intent.currency.lower()
    charge_id = f"ch_seed_{campaign_id}_{n}"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": intent.amount_minor,
        "currency": currency,
        "paid": True,
        "status": "succeeded",
        "balance_transaction": {
            "id": f"txn_seed_{campaign_id}_{n}",
            "object": "balance_transaction",
            "amount": intent.amount_minor,
            "currency": currency,
            "fee": sandbox_fee(intent.amount_minor, currency),
            "source": charge_id,
        },
    }
