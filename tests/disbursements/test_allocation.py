"""Where my money went: first-in-first-out allocation of gifts to spending, from the ledger."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.disbursements import services
from giving.disbursements.allocation import (
    DISBURSEMENT,
    FEES,
    FifoResult,
    FundMovement,
    allocate,
    allocate_campaign,
)
from giving.disbursements.models import Disbursement
from giving.disbursements.queries import (
    allocation_for_donation,
    campaign_money_flow,
    donation_trace,
)
from giving.ledger.balances import campaign_summary
from giving.money import Money
from tests.disbursements.support import Story, give, refund

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _approve(story: Story, amount_minor: int, category: str = "education") -> int:
    disbursement = story.request(amount_minor, category=category)
    services.approve_disbursement(story.session, actor=story.finance, disbursement=disbursement)
    assert disbursement.ledger_seq is not None
    return disbursement.ledger_seq


def test_gifts_pay_for_spending_oldest_first(session: Session, story: Story) -> None:
    # The story's opening gift of 1,000.00, then 500.00 with a 15.00 processor fee.
    (opening,) = allocate_campaign(session, story.campaign.public_id, "CNY").inflows
    second = give(session, story.campaign, 50_000, fee_minor=1_500)
    food = _approve(story, 80_000, "food")
    books = _approve(story, 40_000, "education")

    result = allocate_campaign(session, story.campaign.public_id, "CNY")
    assert [(x.donation_seq, x.outflow_seq, x.amount) for x in result.allocations] == [
        (opening, food, 80_000),
        (opening, books, 20_000),
        (second, books, 20_000),
    ]
    # The second gift's own fee came out of that gift, not out of the opening one.
    assert result.inflows[second].own_fees == 1_500
    assert result.remaining(opening) == 0
    assert result.remaining(second) == 50_000 - 1_500 - 20_000
    assert (
        result.held
        == campaign_summary(session, story.campaign.public_id).in_currency("CNY").available
    )

    today = story.campaign.created_at.date()
    assert allocation_for_donation(session, second) == [("education", Money(20_000, "CNY"), today)]
    trace = donation_trace(session, second)
    assert trace is not None
    assert (trace.gross, trace.own_fees, trace.spent_total, trace.held) == (
        50_000,
        1_500,
        20_000,
        28_500,
    )
    assert donation_trace(session, food) is None  # not a donation


def test_a_reversed_disbursement_pays_for_nothing(session: Session, story: Story) -> None:
    seq = _approve(story, 30_000)
    (opening,) = allocate_campaign(session, story.campaign.public_id, "CNY").inflows
    disbursement = session.scalars(sa.select(Disbursement)).one()
    services.reverse_disbursement(
        session, actor=story.admin, disbursement=disbursement, reason="Cancelled order"
    )
    result = allocate_campaign(session, story.campaign.public_id, "CNY")
    assert result.for_outflow(seq) == []
    assert allocation_for_donation(session, opening) == []
    assert result.held == 100_000


def test_a_refund_after_spending_leaves_spending_uncovered(session: Session, story: Story) -> None:
    (opening,) = allocate_campaign(session, story.campaign.public_id, "CNY").inflows
    late = give(session, story.campaign, 20_000)
    spent = _approve(story, 110_000)
    refund(session, story.campaign, late, 20_000)
    result = allocate_campaign(session, story.campaign.public_id, "CNY")
    assert result.for_donation(opening)[0].amount == 100_000
    assert result.for_donation(late) == []
    assert result.uncovered == {spent: 10_000}
    assert result.held == -10_000 == campaign_money_flow(session, story.campaign).held


def test_money_flow_adds_up_to_what_the_fund_holds(session: Session, story: Story) -> None:
    give(session, story.campaign, 20_000, fee_minor=600)
    _approve(story, 30_000, "food")
    _approve(story, 10_000, "health")
    flow = campaign_money_flow(session, story.campaign)
    assert (flow.money_in, flow.fees, flow.spent_total) == (120_000, 600, 40_000)
    assert [(s.category, s.amount_minor) for s in flow.spent] == [
        ("food", 30_000),
        ("health", 10_000),
    ]
    assert flow.held == flow.money_in - flow.taken_back - flow.fees - flow.spent_total


# --- the invariants, on generated ledgers ------------------------------------------------

_operation = st.one_of(
    st.tuples(st.just("donate"), st.integers(1, 50_000), st.integers(0, 900), st.booleans()),
    st.tuples(st.just("refund"), st.integers(0, 30), st.integers(1, 50_000)),
    st.tuples(st.just("dispute"), st.integers(0, 30), st.integers(1, 50_000), st.booleans()),
    st.tuples(st.just("fee"), st.integers(1, 2_000)),
    st.tuples(st.just("disburse"), st.integers(1, 80_000)),
    st.tuples(st.just("reverse"), st.integers(0, 30)),
)


def _ledger(operations: list[tuple[object, ...]]) -> list[FundMovement]:
    """Fund movements obeying the ledger's rules: nothing is taken back beyond its donation,
    disbursements never exceed the fund, and an entry is reversed at most once."""
    moves: list[FundMovement] = []
    remaining: dict[int, int] = {}
    disbursements: list[int] = []
    reversed_: set[int] = set()
    balance = 0

    def add(kind: str, delta: int, *, ref: str | None = None, reverses: int | None = None) -> int:
        nonlocal balance
        seq = len(moves)
        moves.append(FundMovement(seq, kind, reverses, ref, T0 + dt.timedelta(minutes=seq), delta))
        balance -= delta
        return seq

    for op in operations:
        name = op[0]
        if name == "donate":
            _, amount, fee, own_fee = op
            seq = add("donation", -int(amount), ref=f"ch{len(moves)}:donation")  # type: ignore[arg-type]
            remaining[seq] = int(amount)  # type: ignore[arg-type]
            if fee:
                ref = f"ch{seq}:processor_fee" if own_fee else f"tx{seq}:processor_fee"
                add("processor_fee", int(fee), ref=ref)  # type: ignore[arg-type]
        elif name in ("refund", "dispute") and remaining:
            donation = sorted(remaining)[int(op[1]) % len(remaining)]  # type: ignore[arg-type]
            amount = min(int(op[2]), remaining[donation])  # type: ignore[arg-type]
            if amount <= 0:
                continue
            remaining[donation] -= amount
            seq = add(name, amount, reverses=donation)
            if name == "dispute" and op[3]:
                add("dispute_won", -amount, reverses=seq)
                remaining[donation] += amount
        elif name == "fee":
            add("processor_fee", int(op[1]), ref=f"dispute{len(moves)}:processor_fee")  # type: ignore[arg-type]
        elif name == "disburse":
            amount = min(int(op[1]), balance)  # type: ignore[arg-type]
            if amount > 0:
                disbursements.append(add("disbursement", amount))
        elif name == "reverse" and disbursements:
            target = disbursements[int(op[1]) % len(disbursements)]  # type: ignore[arg-type]
            if target not in reversed_:
                reversed_.add(target)
                add("reversal", -moves[target].fund_delta, reverses=target)
    return moves


def _check_invariants(moves: list[FundMovement], result: FifoResult) -> None:
    by_donation: dict[int, int] = defaultdict(int)
    by_outflow: dict[int, int] = defaultdict(int)
    for item in result.allocations:
        assert item.amount > 0
        by_donation[item.donation_seq] += item.amount
        by_outflow[item.outflow_seq] += item.amount
    for seq, inflow in result.inflows.items():
        assert 0 <= inflow.own_fees <= inflow.net <= inflow.gross
        assert by_donation[seq] <= inflow.available  # never more than each donation gave
    for outflow in result.outflows:
        allocated = by_outflow[outflow.seq]
        assert allocated <= outflow.amount  # never more than each disbursement cost
        assert allocated + result.uncovered.get(outflow.seq, 0) == outflow.amount
    # Totals match the ledger: net disbursed, and what the fund holds.
    reversed_targets = {m.reverses for m in moves if m.kind == "reversal"}
    disbursed = sum(
        m.fund_delta for m in moves if m.kind == "disbursement" and m.seq not in reversed_targets
    )
    assert sum(o.amount for o in result.outflows if o.kind == DISBURSEMENT) == disbursed
    assert result.held == -sum(m.fund_delta for m in moves)
    assert all(o.kind in (DISBURSEMENT, FEES) for o in result.outflows)


@settings(max_examples=300, deadline=None)
@given(st.lists(_operation, max_size=40))
def test_fifo_never_over_allocates_and_totals_match_the_ledger(
    operations: list[tuple[object, ...]],
) -> None:
    moves = _ledger(operations)
    _check_invariants(moves, allocate(moves))


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    gifts=st.lists(st.tuples(st.integers(1, 30_000), st.integers(0, 500)), min_size=1, max_size=5),
    spends=st.lists(st.integers(1, 40_000), max_size=4),
    refund_first=st.booleans(),
)
def test_fifo_on_the_real_ledger_matches_the_campaign_summary(
    session: Session,
    story: Story,
    gifts: list[tuple[int, int]],
    spends: list[int],
    refund_first: bool,
) -> None:
    nested = session.begin_nested()
    try:
        seqs = [give(session, story.campaign, amount, fee_minor=fee) for amount, fee in gifts]
        for amount in spends:
            available = services.available_balance(session, story.campaign).amount_minor
            if 0 < amount <= available:
                _approve(story, amount)
        if refund_first:
            refund(session, story.campaign, seqs[0], gifts[0][0])
        result = allocate_campaign(session, story.campaign.public_id, "CNY")
        summary = campaign_summary(session, story.campaign.public_id).in_currency("CNY")
        disbursed = sum(o.amount for o in result.outflows if o.kind == DISBURSEMENT)
        assert disbursed == summary.disbursed
        assert result.held == summary.available
        for seq in [*result.inflows]:
            trace = donation_trace(session, seq)
            assert trace is not None
            assert trace.spent_total + trace.own_fees + trace.other_fees + trace.held == (
                trace.gross - trace.taken_back
            )
    finally:
        nested.rollback()
