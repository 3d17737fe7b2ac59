"""Balances and campaign summaries agree with a brute-force recomputation (Hypothesis).

Random sequences of donations, fees, refunds, disputes, wins, disbursements and reversals
are applied through ``append_entry``. A plain-Python model decides independently whether
each one is allowed; the ledger must accept exactly those, and its SQL-derived balances and
summaries must equal sums over the model's entries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.ledger.balances import account_balance, all_balances, campaign_summary
from giving.ledger.errors import InvalidEntry
from giving.ledger.services import Posting, append_entry
from giving.ledger.verify import verify_ledger
from tests.ledger.support import add_campaign, count_entries, moment

CAMPAIGNS = ("cmp_prop_a", "cmp_prop_b")
CURRENCIES = ("CNY", "USD")
COUNTER = {
    "processor_fee": "processor:stripe",
    "platform_fee": "income:platform_fees",
    "refund": "processor:stripe",
    "dispute": "dispute:held",
    "disbursement": "payee:disbursed",
}


@dataclass
class ModelEntry:
    seq: int
    campaign: str
    kind: str
    reverses: int | None
    postings: list[tuple[str, int, str]]

    def fund(self, currency: str) -> int:
        account = f"campaign:{self.campaign}:fund"
        return sum(a for acc, a, c in self.postings if acc == account and c == currency)


@dataclass
class Model:
    entries: list[ModelEntry] = field(default_factory=list)

    def reversed_(self, seq: int) -> bool:
        return any(e.kind == "reversal" and e.reverses == seq for e in self.entries)

    def live_dependents(self, seq: int) -> list[ModelEntry]:
        return [
            e
            for e in self.entries
            if e.reverses == seq and e.kind != "reversal" and not self.reversed_(e.seq)
        ]

    def remaining(self, target: ModelEntry, currency: str) -> int:
        if target.kind == "donation":
            left = -target.fund(currency)
            for d in self.live_dependents(target.seq):
                left -= d.fund(currency)
                for won in self.live_dependents(d.seq):
                    left -= won.fund(currency)
            return left
        return target.fund(currency) + sum(
            w.fund(currency) for w in self.live_dependents(target.seq)
        )

    def available(self, campaign: str, currency: str) -> int:
        return -sum(e.fund(currency) for e in self.entries if e.campaign == campaign)


@dataclass(frozen=True)
class Op:
    kind: str
    campaign: int
    amount: int
    currency: int
    pick: int  # which earlier entry a refund/dispute/win/reversal names


ops = st.lists(
    st.builds(
        Op,
        kind=st.sampled_from(
            ["donation"] * 4
            + ["processor_fee", "platform_fee", "refund", "refund", "dispute", "dispute_won"]
            + ["disbursement", "disbursement", "reversal", "reversal"]
        ),
        campaign=st.integers(0, 1),
        amount=st.integers(1, 5_000),
        currency=st.sampled_from([0, 0, 0, 1]),
        pick=st.integers(0, 50),
    ),
    max_size=24,
)


def plan(model: Model, op: Op) -> tuple[ModelEntry, bool]:
    """What the op asks for, and whether the model allows it."""
    campaign, currency, amount = CAMPAIGNS[op.campaign], CURRENCIES[op.currency], op.amount
    fund = f"campaign:{campaign}:fund"
    seq = len(model.entries)
    if op.kind == "donation":
        return ModelEntry(
            seq,
            campaign,
            "donation",
            None,
            [("processor:stripe", amount, currency), (fund, -amount, currency)],
        ), True
    if op.kind == "reversal":
        if not model.entries:
            target = ModelEntry(
                10_000,
                campaign,
                "donation",
                None,
                [("processor:stripe", 1, currency), (fund, -1, currency)],
            )
        else:
            target = model.entries[op.pick % len(model.entries)]
        negated = [(acc, -a, c) for acc, a, c in target.postings]
        wanted = ModelEntry(seq, target.campaign, "reversal", target.seq, negated)
        allowed = (
            target.seq < seq
            and target.kind != "reversal"
            and not model.reversed_(target.seq)
            and not model.live_dependents(target.seq)
        )
        return wanted, allowed
    if op.kind == "dispute_won":
        postings = [("dispute:held", amount, currency), (fund, -amount, currency)]
        targets = [e for e in model.entries if e.kind == "dispute"] or model.entries
    else:
        postings = [(fund, amount, currency), (COUNTER[op.kind], -amount, currency)]
        targets = [e for e in model.entries if e.kind == "donation"] or model.entries
    if op.kind in ("refund", "dispute", "dispute_won"):
        if not targets:
            return ModelEntry(seq, campaign, op.kind, 0, postings), False
        target = targets[op.pick % len(targets)]
        wanted = ModelEntry(seq, campaign, op.kind, target.seq, postings)
        expected_kind = "dispute" if op.kind == "dispute_won" else "donation"
        allowed = (
            target.campaign == campaign
            and target.kind == expected_kind
            and not model.reversed_(target.seq)
            and amount <= model.remaining(target, currency)
        )
        return wanted, allowed
    wanted = ModelEntry(seq, campaign, op.kind, None, postings)
    if op.kind == "disbursement":
        return wanted, amount <= model.available(campaign, currency)
    return wanted, True


@pytest.fixture
def campaigns(session: Session) -> None:
    for public_id in CAMPAIGNS:
        add_campaign(session, public_id)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=ops)
def test_balances_and_summaries_match_a_brute_force_recomputation(
    session: Session, campaigns: None, sequence: list[Op]
) -> None:
    savepoint = session.begin_nested()  # each example starts from an empty ledger
    try:
        model = Model()
        for op in sequence:
            wanted, allowed = plan(model, op)
            try:
                append_entry(
                    session,
                    campaign=wanted.campaign,
                    kind=wanted.kind,
                    postings=[Posting(*p) for p in wanted.postings],
                    occurred_at=moment(),
                    reverses=wanted.reverses,
                )
                accepted, reason = True, "accepted though the rules forbid it"
            except InvalidEntry as exc:
                accepted, reason = False, exc.message
            assert accepted == allowed, f"{op}: {reason}"
            if accepted:
                model.entries.append(wanted)
            assert count_entries(session) == len(model.entries)
        check_against_model(session, model)
    finally:
        savepoint.rollback()


def check_against_model(session: Session, model: Model) -> None:
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for entry in model.entries:
        for account, amount, currency in entry.postings:
            expected[(account, currency)] += amount
    assert all_balances(session) == dict(expected)
    for (account, currency), total in expected.items():
        assert account_balance(session, account)[currency] == total
    for currency in CURRENCIES:
        assert sum(v for (_, c), v in expected.items() if c == currency) == 0

    kind_of = {e.seq: e.kind for e in model.entries}
    for campaign in CAMPAIGNS:
        summary = campaign_summary(session, campaign)
        for currency in CURRENCIES:
            fields: dict[str, int] = defaultdict(int)
            mine = [e for e in model.entries if e.campaign == campaign and e.fund(currency)]
            for entry in mine:
                kind = kind_of[entry.reverses] if entry.kind == "reversal" else entry.kind  # type: ignore[index]
                fields[kind] += entry.fund(currency)
            got = summary.in_currency(currency)
            assert got.gross_raised == -fields["donation"]
            assert got.processor_fees == fields["processor_fee"]
            assert got.platform_fees == fields["platform_fee"]
            assert got.refunds == fields["refund"]
            assert got.disputes == fields["dispute"] + fields["dispute_won"]
            assert got.disbursed == fields["disbursement"]
            assert got.available == model.available(campaign, currency)
            assert got.available == (
                got.gross_raised
                - got.processor_fees
                - got.platform_fees
                - got.refunds
                - got.disputes
                - got.disbursed
            )
            assert (currency in summary.currencies) == bool(mine)
    assert verify_ledger(session, None).entries == len(model.entries)
