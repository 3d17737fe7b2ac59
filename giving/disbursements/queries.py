"""The read side: requests and evidence with visibility rules, the activity log, budget
against actual spending, a campaign's money flow and a donation's trace.

Money figures come from the ledger, through the figures its sequencer keeps (the campaign's
stored totals and FIFO book, giving/ledger/figures.py), so each reads a bounded number of
rows; the disbursement rows only add what the ledger does not say, such as a payment's
category and date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import Campaign, CampaignCategory
from giving.disbursements import allocation
from giving.disbursements.access import can_view_books
from giving.disbursements.models import (
    BudgetLine,
    Category,
    Disbursement,
    DisbursementActivity,
    DisbursementState,
    EvidenceFile,
)
from giving.errors import NotFound
from giving.ledger.balances import campaign_summary
from giving.ledger.models import FifoAllocation, FifoInflow, FifoOutflow, LedgerEntry
from giving.money import Money

_MEMO_CATEGORY = re.compile(r"\((\w+)\)\s*$")


# --- requests and evidence ---------------------------------------------------------------


def disbursement_in(session: Session, campaign: Campaign, disbursement_id: int) -> Disbursement:
    """A request of ``campaign`` (404 for ids of other campaigns)."""
    disbursement = session.get(Disbursement, disbursement_id)
    if disbursement is None or disbursement.campaign_id != campaign.id:
        raise NotFound(_("We could not find that disbursement."))
    return disbursement


def disbursements_of(
    session: Session, campaign: Campaign, *, states: tuple[DisbursementState, ...] | None = None
) -> list[Disbursement]:
    stmt = sa.select(Disbursement).where(Disbursement.campaign_id == campaign.id)
    if states is not None:
        stmt = stmt.where(Disbursement.state.in_([s.value for s in states]))
    return list(session.scalars(stmt.order_by(Disbursement.id.desc())))


PUBLIC_STATES = (DisbursementState.APPROVED.value, DisbursementState.REVERSED.value)
SPENDING_PAGE_SIZE = 20


@dataclass(frozen=True)
class DisbursementPage:
    items: list[Disbursement]
    older_than: int | None  # pass as ``before`` for the next (older) page; None on the last


def public_disbursements(
    session: Session,
    campaign: Campaign,
    *,
    before: int | None = None,
    limit: int = SPENDING_PAGE_SIZE,
) -> DisbursementPage:
    """What the public sees, newest first, a page at a time: approved spending and approvals
    later reversed. Keyset paging by id, so the hundredth page costs what the first does."""
    stmt = sa.select(Disbursement).where(
        Disbursement.campaign_id == campaign.id, Disbursement.state.in_(PUBLIC_STATES)
    )
    if before is not None:
        stmt = stmt.where(Disbursement.id < before)
    found = list(session.scalars(stmt.order_by(Disbursement.id.desc()).limit(limit + 1)))
    items = found[:limit]
    return DisbursementPage(items, items[-1].id if len(found) > limit else None)


def pending_for_decider(session: Session, campaign_ids: list[int]) -> list[Disbursement]:
    if not campaign_ids:
        return []
    return list(
        session.scalars(
            sa.select(Disbursement)
            .where(
                Disbursement.campaign_id.in_(campaign_ids),
                Disbursement.state == DisbursementState.REQUESTED.value,
            )
            .order_by(Disbursement.requested_at)
        )
    )


def evidence_by_token(session: Session, token: str) -> EvidenceFile | None:
    return session.scalar(sa.select(EvidenceFile).where(EvidenceFile.token == token))


def original_for(session: Session, token: str, *, actor: User | None) -> EvidenceFile:
    """An original evidence file, for the campaign's books readers only; 404 for anyone else."""
    evidence = evidence_by_token(session, token)
    if evidence is None or not can_view_books(session, actor, evidence.disbursement.campaign):
        raise NotFound(_("We could not find that file."))
    return evidence


def redacted_for(session: Session, token: str, *, actor: User | None) -> EvidenceFile:
    """A published redacted copy: public once its disbursement is public; else books only."""
    evidence = evidence_by_token(session, token)
    if evidence is None or evidence.redacted_key is None:
        raise NotFound(_("We could not find that file."))
    disbursement = evidence.disbursement
    public = evidence.is_published and disbursement.is_public and disbursement.campaign.is_public
    if not public and not can_view_books(session, actor, disbursement.campaign):
        raise NotFound(_("We could not find that file."))
    return evidence


def activity_of(session: Session, campaign: Campaign) -> list[DisbursementActivity]:
    return list(
        session.scalars(
            sa.select(DisbursementActivity)
            .where(DisbursementActivity.campaign_id == campaign.id)
            .order_by(DisbursementActivity.id.desc())
        )
    )


# --- spending by category, derived from the ledger ---------------------------------------


def _categories_of(session: Session, seqs: list[int]) -> dict[int, str]:
    """Category of each disbursement entry: from its request, else from the entry's memo."""
    if not seqs:
        return {}
    found: dict[int, str] = {
        int(seq): category
        for seq, category in session.execute(
            sa.select(Disbursement.ledger_seq, Disbursement.category).where(
                Disbursement.ledger_seq.in_(seqs)
            )
        )
        if seq is not None
    }
    missing = [s for s in seqs if s not in found]
    if missing:
        for seq, memo in session.execute(
            sa.select(LedgerEntry.seq, LedgerEntry.memo).where(LedgerEntry.seq.in_(missing))
        ):
            match = _MEMO_CATEGORY.search(memo or "")
            value = match.group(1) if match else ""
            found[int(seq)] = value if value in set(Category) else Category.OTHER.value
    return found


def _requests_by_seq(session: Session, seqs: list[int]) -> dict[int, Disbursement]:
    if not seqs:
        return {}
    rows = session.scalars(sa.select(Disbursement).where(Disbursement.ledger_seq.in_(seqs)))
    return {int(d.ledger_seq): d for d in rows if d.ledger_seq is not None}


def spent_by_category(session: Session, campaign: Campaign) -> dict[str, int]:
    """Net disbursed per category (reversals subtracted), in the campaign's currency.

    Reads the stored FIFO outflows: one row per disbursement, however many gifts there are.
    """
    spent = {
        int(seq): int(amount)
        for seq, amount in session.execute(
            sa.select(FifoOutflow.seq, FifoOutflow.amount).where(
                FifoOutflow.campaign == campaign.public_id,
                FifoOutflow.currency == campaign.currency,
                FifoOutflow.kind == allocation.DISBURSEMENT,
                FifoOutflow.amount > 0,
            )
        )
    }
    categories = _categories_of(session, list(spent))
    totals: dict[str, int] = {}
    for seq, amount in spent.items():
        totals[categories[seq]] = totals.get(categories[seq], 0) + amount
    return totals


@dataclass(frozen=True, slots=True)
class BudgetRow:
    category: str
    planned_minor: int
    actual_minor: int
    currency: str

    @property
    def label(self) -> str:
        return CampaignCategory(self.category).label

    @property
    def over_budget(self) -> bool:
        return self.actual_minor > self.planned_minor

    @property
    def percent(self) -> int:
        """Actual as a share of planned, for a progress bar (capped at 100)."""
        if self.planned_minor <= 0:
            return 100 if self.actual_minor else 0
        return min(100, self.actual_minor * 100 // self.planned_minor)


def budget_amounts(session: Session, campaign: Campaign) -> dict[str, int]:
    """Planned amounts per category (categories without a line are absent)."""
    return {
        line.category: line.amount_minor
        for line in session.scalars(
            sa.select(BudgetLine).where(
                BudgetLine.campaign_id == campaign.id, BudgetLine.currency == campaign.currency
            )
        )
    }


def budget_vs_actual(session: Session, campaign: Campaign) -> list[BudgetRow]:
    """Planned and actual spending per category, for categories with either."""
    planned = budget_amounts(session, campaign)
    actual = spent_by_category(session, campaign)
    return [
        BudgetRow(
            category.value, planned.get(category, 0), actual.get(category, 0), campaign.currency
        )
        for category in Category
        if planned.get(category, 0) or actual.get(category, 0)
    ]


# --- money flow of a campaign ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CategorySpend:
    category: str
    amount_minor: int

    @property
    def label(self) -> str:
        return CampaignCategory(self.category).label


@dataclass(frozen=True, slots=True)
class MoneyFlow:
    """Money in, what was taken back, fees, spending by category and what is held."""

    currency: str
    money_in: int  # gross donations
    taken_back: int  # refunds and disputes (net of disputes won)
    fees: int  # processor and platform fees
    spent: tuple[CategorySpend, ...]
    held: int  # the fund's balance

    @property
    def spent_total(self) -> int:
        return sum(item.amount_minor for item in self.spent)


def campaign_money_flow(session: Session, campaign: Campaign) -> MoneyFlow:
    summary = campaign_summary(session, campaign.public_id).in_currency(campaign.currency)
    by_category = spent_by_category(session, campaign)
    spent = tuple(
        CategorySpend(category.value, by_category[category])
        for category in Category
        if by_category.get(category)
    )
    return MoneyFlow(
        currency=campaign.currency,
        money_in=summary.gross_raised,
        taken_back=summary.refunds + summary.disputes,
        fees=summary.processor_fees + summary.platform_fees,
        spent=spent,
        held=summary.available,
    )


# --- where one donation went -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DonationAllocation:
    """Part of a donation spent on one disbursement."""

    category: str
    amount: Money
    date: dt.date
    disbursement_id: int | None

    @property
    def label(self) -> str:
        return CampaignCategory(self.category).label


@dataclass(frozen=True, slots=True)
class DonationTrace:
    """A donation from gift to spending: what it brought, its fees, what it paid for, and
    what is left of it."""

    seq: int
    currency: str
    gross: int
    taken_back: int
    own_fees: int
    other_fees: int  # its share of fees no single donation bore (e.g. dispute fees)
    spent: tuple[DonationAllocation, ...]
    held: int

    @property
    def spent_total(self) -> int:
        return sum(item.amount.amount_minor for item in self.spent)


def donation_trace(session: Session, entry_seq: int) -> DonationTrace | None:
    """Where the donation recorded as ledger entry ``entry_seq`` went (None if no donation).

    Reads the gift's stored FIFO row and its allocations: a few rows, not the campaign.
    """
    inflow = session.get(FifoInflow, entry_seq)
    if inflow is None:
        return None
    paid = session.execute(
        sa.select(
            FifoAllocation.outflow_seq,
            FifoAllocation.amount,
            FifoOutflow.kind,
            FifoOutflow.occurred_at,
        )
        .join(FifoOutflow, FifoOutflow.seq == FifoAllocation.outflow_seq)
        .where(FifoAllocation.donation_seq == entry_seq)
        .order_by(FifoAllocation.outflow_seq)
    ).all()
    spent_seqs = [int(seq) for seq, _, kind, _ in paid if kind == allocation.DISBURSEMENT]
    categories = _categories_of(session, spent_seqs)
    requests = _requests_by_seq(session, spent_seqs)
    currency = inflow.currency
    spent = tuple(
        DonationAllocation(
            category=categories[int(seq)],
            amount=Money(int(amount), currency),
            date=(requests[int(seq)].spent_on if int(seq) in requests else occurred_at.date()),
            disbursement_id=requests[int(seq)].id if int(seq) in requests else None,
        )
        for seq, amount, kind, occurred_at in paid
        if kind == allocation.DISBURSEMENT
    )
    other_fees = sum(int(amount) for _, amount, kind, _ in paid if kind == allocation.FEES)
    return DonationTrace(
        seq=entry_seq,
        currency=currency,
        gross=int(inflow.gross),
        taken_back=int(inflow.taken_back),
        own_fees=int(inflow.own_fees),
        other_fees=other_fees,
        spent=spent,
        held=int(inflow.remaining),
    )


def allocation_for_donation(session: Session, entry_seq: int) -> list[tuple[str, Money, dt.date]]:
    """(category, amount, date) of each disbursement the donation ``entry_seq`` paid for."""
    trace = donation_trace(session, entry_seq)
    if trace is None:
        return []
    return [(item.category, item.amount, item.date) for item in trace.spent]
