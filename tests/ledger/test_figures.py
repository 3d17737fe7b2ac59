"""Derived figures kept by the sequencer equal a replay of the whole ledger from scratch.

Random gifts (with their own fees and repeat donors), refunds, disputes and wins, orphan fees,
disbursements and reversals are sealed in batches of random sizes, so the incremental,
database-backed book sees every kind of batch boundary. After each story the stored totals,
donor counts and FIFO book must equal what ``check_figures`` recomputes from the entries, the
totals must equal sums over the postings, and donors a DISTINCT count. Changing any stored
figure by hand must make the check (and ``giving ledger verify``) fail.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.disbursements.allocation import allocate, allocate_campaign
from giving.ledger import rules
from giving.ledger.balances import campaign_summary, campaign_summary_from_postings, donor_count
from giving.ledger.fifo import Movement
from giving.ledger.figures import FiguresMismatch
from giving.ledger.figures_replay import check_figures, rebuild_figures
from giving.ledger.models import (
    CampaignDonor,
    CampaignStats,
    CampaignTotals,
    FifoAllocation,
    FifoInflow,
    FifoOutflow,
    LedgerEntry,
    LedgerPosting,
)
from giving.ledger.rules import EntryDraft, draft_entry, fund_account
from giving.ledger.sealing import seal
from tests.ledger.support import add_campaign, moment

CAMPAIGN = "cmp_figures"

_op = st.one_of(
    st.tuples(st.just("gift"), st.integers(1, 30_000), st.integers(0, 900), st.integers(0, 3)),
    st.tuples(st.just("refund"), st.integers(0, 40), st.integers(1, 30_000)),
    st.tuples(st.just("dispute"), st.integers(0, 40), st.integers(1, 30_000), st.booleans()),
    st.tuples(st.just("orphan_fee"), st.integers(1, 2_000)),
    st.tuples(st.just("disburse"), st.integers(1, 60_000)),
    st.tuples(st.just("reverse"), st.integers(0, 40)),
    st.tuples(st.just("seal")),
)


class Story:
    """Builds drafts for a story and seals them in the batches the ops ask for."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.fund = fund_account(CAMPAIGN)
        self.pending: list[EntryDraft] = []
        self.counter = 0

    def draft(self, kind: str, fund_amount: int, counter: str, **extra: object) -> None:
        postings = [(self.fund, fund_amount, "CNY"), (counter, -fund_amount, "CNY")]
        self.pending.append(
            draft_entry(
                campaign=CAMPAIGN,
                kind=kind,
                postings=postings,
                occurred_at=moment(),
                **extra,  # type: ignore[arg-type]
            )
        )

    def seal(self) -> None:
        if self.pending:
            seal(self.session, self.pending)  # refusals are the ledger's to make
            self.pending = []

    def entries(self, kind: str) -> list[LedgerEntry]:
        return list(
            self.session.scalars(
                sa.select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.seq)
            )
        )

    def play(self, op: tuple[object, ...]) -> None:
        name = op[0]
        if name == "gift":
            _, amount, fee, donor = op
            self.counter += 1
            charge = f"ch_{self.counter}"
            self.draft(
                rules.DONATION,
                -int(amount),  # type: ignore[call-overload]
                "processor:stripe",
                ref=f"{charge}:donation",
                donor_commitment=f"{int(donor):064x}",  # type: ignore[call-overload]
            )
            if fee:
                self.draft(
                    rules.PROCESSOR_FEE,
                    int(fee),  # type: ignore[call-overload]
                    "processor:stripe",
                    ref=f"{charge}:processor_fee",
                )
            return
        self.seal()  # the rest name sealed entries
        if name in ("refund", "dispute"):
            gifts = self.entries(rules.DONATION)
            if not gifts:
                return
            target = gifts[int(op[1]) % len(gifts)]  # type: ignore[call-overload]
            counter = "processor:stripe" if name == "refund" else rules.DISPUTE_ACCOUNT
            self.draft(name, int(op[2]), counter, reverses=target.seq)  # type: ignore[call-overload]
            self.seal()
            if name == "dispute" and op[3]:
                disputes = self.entries(rules.DISPUTE)
                if disputes and disputes[-1].reverses == target.seq:
                    amount = sum(p.amount for p in disputes[-1].postings if p.account == self.fund)
                    self.draft(
                        rules.DISPUTE_WON,
                        -amount,
                        rules.DISPUTE_ACCOUNT,
                        reverses=disputes[-1].seq,
                    )
        elif name == "orphan_fee":
            self.counter += 1
            self.draft(
                rules.PROCESSOR_FEE,
                int(op[1]),  # type: ignore[call-overload]
                "processor:stripe",
                ref=f"dp_{self.counter}:processor_fee",
            )
        elif name == "disburse":
            self.draft(rules.DISBURSEMENT, int(op[1]), rules.PAYEE_ACCOUNT)  # type: ignore[call-overload]
        elif name == "reverse":
            candidates = [
                e
                for kind in (rules.DISBURSEMENT, rules.REFUND, rules.PROCESSOR_FEE)
                for e in self.entries(kind)
            ]
            if candidates:
                target = candidates[int(op[1]) % len(candidates)]  # type: ignore[call-overload]
                self.pending.append(
                    draft_entry(
                        campaign=CAMPAIGN,
                        kind=rules.REVERSAL,
                        postings=[(p.account, -p.amount, p.currency) for p in target.postings],
                        occurred_at=moment(),
                        reverses=target.seq,
                    )
                )


def _movements(session: Session) -> list[Movement]:
    """Brute force: every entry's net fund posting, straight from the postings."""
    rows = session.execute(
        sa.select(
            LedgerEntry.seq,
            LedgerEntry.kind,
            LedgerEntry.reverses,
            LedgerEntry.ref,
            LedgerEntry.occurred_at,
            sa.func.sum(LedgerPosting.amount),
        )
        .join(LedgerPosting, LedgerPosting.entry_seq == LedgerEntry.seq)
        .where(LedgerPosting.account == fund_account(CAMPAIGN))
        .group_by(
            LedgerEntry.seq,
            LedgerEntry.kind,
            LedgerEntry.reverses,
            LedgerEntry.ref,
            LedgerEntry.occurred_at,
        )
        .order_by(LedgerEntry.seq)
    )
    return [Movement(int(s), k, r, ref, at, int(t)) for s, k, r, ref, at, t in rows]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(_op, max_size=30))
def test_stored_figures_equal_a_replay_of_the_ledger(
    session: Session, operations: list[tuple[object, ...]]
) -> None:
    savepoint = session.begin_nested()
    try:
        add_campaign(session, CAMPAIGN)
        story = Story(session)
        for op in operations:
            story.play(op)
        story.seal()
        check_figures(session)
        assert campaign_summary(session, CAMPAIGN) == campaign_summary_from_postings(
            session, CAMPAIGN
        )
        distinct = session.scalar(
            sa.select(sa.func.count(sa.distinct(LedgerEntry.donor_commitment))).where(
                LedgerEntry.kind == rules.DONATION
            )
        )
        assert donor_count(session, CAMPAIGN) == distinct
        stored, replayed = (
            allocate_campaign(session, CAMPAIGN, "CNY"),
            allocate(_movements(session)),
        )
        assert stored == replayed
        held = campaign_summary(session, CAMPAIGN).in_currency("CNY").available
        assert stored.held == held
    finally:
        savepoint.rollback()


def _story_with_spending(session: Session) -> Story:
    add_campaign(session, CAMPAIGN)
    story = Story(session)
    for op in [
        ("gift", 10_000, 300, 1),
        ("gift", 5_000, 0, 2),
        ("gift", 2_000, 100, 1),
        ("disburse", 12_000),
        ("refund", 1, 5_000),
        ("orphan_fee", 500),
    ]:
        story.play(op)
    story.seal()
    check_figures(session)
    return story


_TAMPERING = [
    (CampaignTotals, {"gross_raised": 1}, "ledger_campaign_totals"),
    (CampaignTotals, {"uncovered": 7}, "ledger_campaign_totals"),
    (CampaignStats, {"donors": 9}, "ledger_campaign_stats"),
    (FifoInflow, {"remaining": 1}, "gift seq"),
    (FifoOutflow, {"uncovered": 5}, "outflow seq"),
    (FifoAllocation, {"amount": 1}, "allocation"),
]


def test_changing_any_stored_figure_fails_the_check_and_rebuild_mends_it(
    session: Session,
) -> None:
    _story_with_spending(session)
    for model, change, named in _TAMPERING:
        savepoint = session.begin_nested()
        try:
            table = model.__table__
            first = session.execute(sa.select(table).limit(1)).first()
            assert first is not None, model
            key = {col.name: getattr(first, col.name) for col in table.primary_key.columns}
            session.execute(
                sa.update(table)
                .where(*(table.c[name] == value for name, value in key.items()))
                .values({name: table.c[name] + delta for name, delta in change.items()})
            )
            with pytest.raises(FiguresMismatch, match=named):
                check_figures(session)
            rebuild_figures(session)
            check_figures(session)
        finally:
            savepoint.rollback()


def test_a_forgotten_donor_or_gift_fails_the_check(session: Session) -> None:
    _story_with_spending(session)
    for model in (CampaignDonor, FifoInflow):
        savepoint = session.begin_nested()
        try:
            first = session.execute(sa.select(model.__table__).limit(1)).first()
            assert first is not None
            table = model.__table__
            session.execute(
                sa.delete(table).where(
                    *(table.c[c.name] == getattr(first, c.name) for c in table.primary_key.columns)
                )
            )
            with pytest.raises(FiguresMismatch):
                check_figures(session)
        finally:
            savepoint.rollback()


def test_a_refund_after_spending_moves_the_spending_to_later_gifts(session: Session) -> None:
    story = _story_with_spending(session)
    gifts = [e.seq for e in story.entries(rules.DONATION)]
    spending = story.entries(rules.DISBURSEMENT)[0].seq
    paid = {
        int(d): int(a)
        for d, a in session.execute(
            sa.select(FifoAllocation.donation_seq, FifoAllocation.amount).where(
                FifoAllocation.outflow_seq == spending
            )
        )
    }
    # 12,000 spent: the first gift's 9,700 left after its fee, then 2,300 of the second. The
    # second gift was then refunded whole, so the third gift's 1,900 took over its share and
    # 400 of the spending, and the later 500 fee, are paid by no gift yet.
    assert paid == {gifts[0]: 9_700, gifts[2]: 1_900}
    assert session.get(FifoOutflow, spending).uncovered == 400  # type: ignore[union-attr]
    totals = session.get(CampaignTotals, (CAMPAIGN, "CNY"))
    assert totals is not None
    assert totals.uncovered == 900
    assert totals.available == -900
