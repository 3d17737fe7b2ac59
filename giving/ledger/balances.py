"""Balances: account sums from postings, and a campaign's fund split by kind.

A campaign's summary is about its fund account only (giving/ledger/rules.py): every kind moves
money between the fund and one counter-account, so grouping the fund's postings by the kind
of entry that made them, a reversal counting as the kind it reverses, splits the fund's
balance into gross raised, fees, refunds, disputes and disbursements. Pages read that split
from ``ledger_campaign_totals``, which the sequencer keeps (giving/ledger/figures.py), so a
page costs the same at ten gifts or a million; ``campaign_summary_from_postings`` computes it
from the postings themselves, for tests and checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from giving.ledger import rules
from giving.ledger.errors import UnknownCampaign
from giving.ledger.models import CampaignStats, CampaignTotals, LedgerEntry, LedgerPosting
from giving.ledger.queries import campaign_exists


def account_balance(session: Session, account: str) -> dict[str, int]:
    """Balance of ``account`` per currency (debit positive); currencies never used are absent."""
    rows = session.execute(
        sa.select(LedgerPosting.currency, sa.func.sum(LedgerPosting.amount))
        .where(LedgerPosting.account == account)
        .group_by(LedgerPosting.currency)
    )
    return {currency: int(total) for currency, total in rows}


def all_balances(session: Session) -> dict[tuple[str, str], int]:
    """Every (account, currency) balance; they sum to zero per currency."""
    rows = session.execute(
        sa.select(
            LedgerPosting.account, LedgerPosting.currency, sa.func.sum(LedgerPosting.amount)
        ).group_by(LedgerPosting.account, LedgerPosting.currency)
    )
    return {(account, currency): int(total) for account, currency, total in rows}


@dataclass(frozen=True)
class CurrencySummary:
    """A campaign's money in one currency, in minor units; all but ``available`` are ≥ 0
    in a ledger that follows the rules."""

    currency: str
    gross_raised: int = 0
    processor_fees: int = 0
    platform_fees: int = 0
    refunds: int = 0
    disputes: int = 0  # net of disputes won back
    disbursed: int = 0
    available: int = 0  # gross minus everything else; negative if refunds came after payouts

    @property
    def net_raised(self) -> int:
        """What donors gave that the campaign kept: gross less refunds, disputes and fees."""
        return (
            self.gross_raised
            - self.refunds
            - self.disputes
            - self.processor_fees
            - self.platform_fees
        )


@dataclass(frozen=True)
class CampaignSummary:
    campaign: str
    currencies: dict[str, CurrencySummary] = field(default_factory=dict)

    def in_currency(self, currency: str) -> CurrencySummary:
        return self.currencies.get(currency, CurrencySummary(currency))


# How each kind's postings to the fund add to a summary field, and with which sign.
FIELD_OF_KIND: dict[str, tuple[str, int]] = {
    rules.DONATION: ("gross_raised", -1),
    rules.PROCESSOR_FEE: ("processor_fees", 1),
    rules.PLATFORM_FEE: ("platform_fees", 1),
    rules.REFUND: ("refunds", 1),
    rules.DISPUTE: ("disputes", 1),
    rules.DISPUTE_WON: ("disputes", 1),  # a win credits the fund: it lowers net disputes
    rules.DISBURSEMENT: ("disbursed", 1),
}


SUMMARY_FIELDS = (
    "gross_raised",
    "processor_fees",
    "platform_fees",
    "refunds",
    "disputes",
    "disbursed",
    "available",
)


def campaign_summary(session: Session, campaign_public_id: str) -> CampaignSummary:
    """Gross raised, fees, refunds, disputes, disbursed and available, per currency.

    Reads the stored totals: one row per currency. Raises UnknownCampaign for an id that
    names no campaign; a campaign without entries has an empty summary.
    """
    return summaries_of(session, [campaign_public_id])[campaign_public_id]


def summaries_of(session: Session, campaign_public_ids: list[str]) -> dict[str, CampaignSummary]:
    """The summaries of several campaigns in one query (a page of campaign cards)."""
    wanted = sorted(set(campaign_public_ids))
    for public_id in wanted:
        if not campaign_exists(session, public_id):
            raise UnknownCampaign(f"There is no campaign {public_id}", field="campaign")
    found: dict[str, dict[str, CurrencySummary]] = {public_id: {} for public_id in wanted}
    if wanted:
        rows = session.scalars(
            sa.select(CampaignTotals)
            .where(CampaignTotals.campaign.in_(wanted))
            .order_by(CampaignTotals.campaign, CampaignTotals.currency)
        )
        for row in rows:
            found[row.campaign][row.currency] = CurrencySummary(
                row.currency, **{name: int(getattr(row, name)) for name in SUMMARY_FIELDS}
            )
    return {public_id: CampaignSummary(public_id, found[public_id]) for public_id in wanted}


def campaign_summary_from_postings(session: Session, campaign_public_id: str) -> CampaignSummary:
    """The summary computed from every fund posting: what the stored totals must equal."""
    if not campaign_exists(session, campaign_public_id):
        raise UnknownCampaign(f"There is no campaign {campaign_public_id}", field="campaign")
    original = aliased(LedgerEntry)
    effective_kind = sa.func.coalesce(original.kind, LedgerEntry.kind).label("effective_kind")
    rows = session.execute(
        sa.select(effective_kind, LedgerPosting.currency, sa.func.sum(LedgerPosting.amount))
        .select_from(LedgerPosting)
        .join(LedgerEntry, LedgerEntry.seq == LedgerPosting.entry_seq)
        .outerjoin(
            original,
            sa.and_(LedgerEntry.kind == rules.REVERSAL, original.seq == LedgerEntry.reverses),
        )
        .where(
            LedgerEntry.campaign == campaign_public_id,
            LedgerPosting.account == rules.fund_account(campaign_public_id),
        )
        .group_by(effective_kind, LedgerPosting.currency)
    )
    totals: dict[str, dict[str, int]] = {}
    for kind, currency, total in rows:
        fields = totals.setdefault(currency, {"available": 0})
        fields["available"] -= int(total)
        name, sign = FIELD_OF_KIND[kind]
        fields[name] = fields.get(name, 0) + sign * int(total)
    return CampaignSummary(
        campaign_public_id,
        {
            currency: CurrencySummary(currency, **fields)
            for currency, fields in sorted(totals.items())
        },
    )


def donor_count(session: Session, campaign_public_id: str) -> int:
    """Distinct donors of a campaign, counted by donor commitment as gifts are sealed.

    A monthly donor's gifts share one commitment, so they count once; a paid donation
    always has a commitment, so nothing pending or unpaid is ever counted. The count is kept
    by the sequencer (giving/ledger/figures.py) and checked by ``giving ledger verify``.
    """
    return donor_counts(session, [campaign_public_id]).get(campaign_public_id, 0)


def donor_counts(session: Session, campaign_public_ids: list[str]) -> dict[str, int]:
    """Donors of several campaigns in one query; campaigns without gifts are absent."""
    rows = session.execute(
        sa.select(CampaignStats.campaign, CampaignStats.donors).where(
            CampaignStats.campaign.in_(sorted(set(campaign_public_ids)))
        )
    )
    return {campaign: int(donors) for campaign, donors in rows}
