"""Demo ledger data: realistic gifts, fees, a refund and a payout per campaign.

Everything goes through ``append_entry`` with fixed refs and times, so running the demo again
changes nothing and the demo ledger verifies like a real one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger.canonical import Posting
from giving.ledger.rules import PAYEE_ACCOUNT, PLATFORM_FEES_ACCOUNT, fund_account
from giving.ledger.services import append_entry

_campaigns = sa.table("campaigns", sa.column("public_id", sa.String), sa.column("currency"))

DEMO_START = dt.datetime(2026, 9, 1, 9, 30, tzinfo=dt.UTC)
GIFTS = (5_000, 20_000, 1_000, 50_000, 8_800, 12_000)  # minor units (e.g. ¥50.00 …)
PLATFORM_FEE_PERCENT = 3


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _processor_fee(amount: int) -> int:
    return max(1, amount * 6 // 1000)  # 0.6%, as a card processor in China might charge


def seed_demo_ledger(session: Session, campaign_public_ids: Iterable[str]) -> None:
    """Append the demo entries of each campaign (idempotent: every entry has a fixed ref)."""
    rows = session.execute(sa.select(_campaigns.c.public_id, _campaigns.c.currency))
    currencies: dict[str, str] = {str(public_id): str(currency) for public_id, currency in rows}
    for index, campaign in enumerate(campaign_public_ids):
        _seed_campaign(session, campaign, currencies.get(campaign, "CNY"), index)


def _seed_campaign(session: Session, campaign: str, currency: str, index: int) -> None:
    fund = fund_account(campaign)
    at = DEMO_START + dt.timedelta(days=index)
    donations = []
    for number, amount in enumerate(GIFTS[: 3 + index % 4], start=1):
        at += dt.timedelta(hours=7, minutes=13 * number)
        charge = f"demo_{campaign}_{number:02d}"
        donation = append_entry(
            session,
            campaign=campaign,
            kind="donation",
            postings=[
                Posting("processor:sandbox", amount, currency),
                Posting(fund, -amount, currency),
            ],
            occurred_at=at,
            ref=f"{charge}:donation",
            donor_commitment=_digest(f"demo donor secret {charge}"),
        )
        fee = _processor_fee(amount)
        append_entry(
            session,
            campaign=campaign,
            kind="processor_fee",
            postings=[Posting(fund, fee, currency), Posting("processor:sandbox", -fee, currency)],
            occurred_at=at,
            ref=f"{charge}:processor_fee",
            memo="Card processing fee (0.6%)",
        )
        donations.append((donation.seq, amount))
    raised = sum(amount for _, amount in donations)
    platform_fee = raised * PLATFORM_FEE_PERCENT // 100
    at += dt.timedelta(days=1)
    append_entry(
        session,
        campaign=campaign,
        kind="platform_fee",
        postings=[
            Posting(fund, platform_fee, currency),
            Posting(PLATFORM_FEES_ACCOUNT, -platform_fee, currency),
        ],
        occurred_at=at,
        ref=f"demo_{campaign}:platform_fee",
        memo=f"Platform fee ({PLATFORM_FEE_PERCENT}%)",
    )
    refunded_seq, refunded_amount = donations[-1]
    partial = refunded_amount // 2
    at += dt.timedelta(hours=3)
    append_entry(
        session,
        campaign=campaign,
        kind="refund",
        postings=[
            Posting(fund, partial, currency),
            Posting("processor:sandbox", -partial, currency),
        ],
        occurred_at=at,
        ref=f"demo_{campaign}_{len(donations):02d}:refund",
        reverses=refunded_seq,
        memo="Partial refund at the donor's request",
    )
    payout = (raised // 2) // 100 * 100
    at += dt.timedelta(days=2)
    append_entry(
        session,
        campaign=campaign,
        kind="disbursement",
        postings=[Posting(fund, payout, currency), Posting(PAYEE_ACCOUNT, -payout, currency)],
        occurred_at=at,
        ref=f"demo_{campaign}:disbursement:1",
        memo="Textbooks and stationery for the school term",
        evidence=[
            _digest(f"demo invoice {campaign}"),
            _digest(f"demo delivery photo {campaign}"),
        ],
    )
