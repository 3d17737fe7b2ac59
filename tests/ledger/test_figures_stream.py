"""The streaming figures check: what it keeps, when it replays carefully, what it catches.

``check_figures`` replays the ledger in one pass that forgets a gift once no later entry can
touch it, and compares gifts and allocations by fingerprint. These stories pin the edges of
that design: a fee sealed after its gift was spent, chains of take-backs and reversals, books
in two currencies, and a changed row in every table, including rows of gifts the replay had
already let go, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.ledger import figures_stream, rules
from giving.ledger.figures import FiguresMismatch
from giving.ledger.figures_replay import check_figures, rebuild_figures, replay_ledger
from giving.ledger.figures_stream import replay_stream
from giving.ledger.models import (
    CampaignDonor,
    CampaignStats,
    CampaignTotals,
    FifoAllocation,
    FifoInflow,
    FifoOutflow,
    LedgerEntry,
)
from giving.ledger.rules import draft_entry, fund_account
from giving.ledger.sealing import seal
from tests.ledger.support import add_campaign, moment
from tests.ledger.test_figures import CAMPAIGN, Story, _op


class Books:
    """Seals entries of one campaign one batch at a time and remembers their seqs."""

    def __init__(self, session: Session, campaign: str) -> None:
        self.session = session
        self.campaign = campaign
        self.fund = fund_account(campaign)
        self.charges = 0

    def seal(
        self, kind: str, fund_amount: int, counter: str, currency: str = "CNY", **extra: Any
    ) -> int:
        draft = draft_entry(
            campaign=self.campaign,
            kind=kind,
            postings=[(self.fund, fund_amount, currency), (counter, -fund_amount, currency)],
            occurred_at=moment(),
            **extra,
        )
        (result,) = seal(self.session, [draft])
        assert result.seq is not None, result.error
        return result.seq

    def gift(self, amount: int, *, currency: str = "CNY", donor: int = 1) -> tuple[int, str]:
        self.charges += 1
        charge = f"ch_{self.campaign}_{self.charges}"
        seq = self.seal(
            rules.DONATION,
            -amount,
            "processor:stripe",
            currency,
            ref=f"{charge}:donation",
            donor_commitment=f"{donor:064x}",
        )
        return seq, charge

    def fee(self, charge: str, amount: int, currency: str = "CNY") -> int:
        return self.seal(
            rules.PROCESSOR_FEE, amount, "processor:stripe", currency, ref=f"{charge}:processor_fee"
        )

    def disburse(self, amount: int, currency: str = "CNY") -> int:
        return self.seal(rules.DISBURSEMENT, amount, rules.PAYEE_ACCOUNT, currency)

    def refund(self, gift: int, amount: int) -> int:
        return self.seal(rules.REFUND, amount, "processor:stripe", reverses=gift)

    def reverse(self, seq: int) -> int:
        entry = self.session.get(LedgerEntry, seq)
        assert entry is not None
        draft = draft_entry(
            campaign=self.campaign,
            kind=rules.REVERSAL,
            postings=[(p.account, -p.amount, p.currency) for p in entry.postings],
            occurred_at=moment(),
            reverses=seq,
        )
        (result,) = seal(self.session, [draft])
        assert result.seq is not None, result.error
        return result.seq


def _held(session: Session) -> int:
    return sum(len(store.inflows) for store in replay_stream(session).stores.values())


def test_a_gift_spent_whole_leaves_the_replay_and_one_with_money_stays(session: Session) -> None:
    books = Books(session, add_campaign(session))
    for _ in range(20):
        _, charge = books.gift(1_000)
        books.fee(charge, 30)
        books.disburse(970)  # spends the gift to the last cent
    books.gift(500)
    check_figures(session)
    assert _held(session) == 1  # only the gift that still holds money


def test_a_fee_sealed_after_its_gift_was_spent_sends_the_check_down_the_careful_pass(
    session: Session,
) -> None:
    books = Books(session, add_campaign(session))
    gift, charge = books.gift(1_000)
    books.disburse(1_000)
    books.fee(charge, 30)  # the gift has nothing left: its fee becomes spending of its own
    check_figures(session)
    replay = replay_stream(session)
    assert replay.careful
    (store,) = replay.stores.values()
    assert store.outflows[gift].kind == "fees"
    assert store.outflows[gift].uncovered == 30


def test_a_fee_sealed_long_after_its_gift_is_found_by_the_careful_pass(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(figures_stream, "_FEE_WINDOW", 2)
    books = Books(session, add_campaign(session))
    _, charge = books.gift(1_000)
    for _ in range(4):
        books.gift(100)
    books.fee(charge, 30)
    check_figures(session)
    assert replay_stream(session).careful


def test_fees_sealed_with_their_gifts_need_one_pass(session: Session) -> None:
    books = Books(session, add_campaign(session))
    for _ in range(5):
        _, charge = books.gift(1_000)
        books.fee(charge, 30)
        books.disburse(500)
    check_figures(session)
    assert not replay_stream(session).careful


def test_chains_of_take_backs_and_reversals_replay_as_the_sequencer_kept_them(
    session: Session,
) -> None:
    books = Books(session, add_campaign(session))
    first, charge = books.gift(1_000)
    books.fee(charge, 30)
    second, _ = books.gift(2_000, donor=2)
    spending = books.disburse(2_500)
    refund = books.refund(first, 400)
    books.reverse(refund)  # a reversed refund gives the money back to the first gift
    dispute = books.seal(rules.DISPUTE, 600, rules.DISPUTE_ACCOUNT, reverses=second)
    won = books.seal(rules.DISPUTE_WON, -600, rules.DISPUTE_ACCOUNT, reverses=dispute)
    books.reverse(won)  # three steps back to the second gift: the dispute is lost after all
    books.reverse(spending)  # the money comes back to the gifts that paid, newest first
    refused = draft_entry(
        campaign=books.campaign,
        kind=rules.REVERSAL,
        postings=[(books.fund, -1, "CNY"), ("processor:stripe", 1, "CNY")],
        occurred_at=moment(),
        reverses=refund + 1,  # the reversal of the refund: a reversal cannot be reversed
    )
    (result,) = seal(session, [refused])
    assert result.seq is None
    check_figures(session)
    gifts = {g.seq: g for g in session.scalars(sa.select(FifoInflow))}
    assert gifts[first].taken_back == 0
    assert gifts[second].taken_back == 600


def test_books_in_two_currencies_are_replayed_and_checked_apart(session: Session) -> None:
    books = Books(session, add_campaign(session))
    usd_gift, usd_charge = books.gift(5_000, currency="USD")
    books.fee(usd_charge, 150, currency="USD")
    cny_gift, _ = books.gift(1_000)
    books.disburse(4_000, currency="USD")
    books.disburse(900)
    check_figures(session)
    replay = replay_stream(session)
    assert sorted(currency for _, currency in replay.stores) == ["CNY", "USD"]
    session.execute(sa.update(FifoInflow).where(FifoInflow.seq == usd_gift).values(currency="CNY"))
    with pytest.raises(FiguresMismatch, match=f"gift seq {usd_gift}"):
        check_figures(session)
    assert cny_gift != usd_gift


def _story(session: Session) -> dict[str, int]:
    """Spent gifts (let go early), a gift with money left (held to the end), a refund."""
    books = Books(session, add_campaign(session))
    spent, charge = books.gift(1_000)
    books.fee(charge, 30)
    partly, _ = books.gift(2_000, donor=2)
    spending = books.disburse(2_000)
    books.gift(3_000, donor=3)
    books.refund(partly, 100)
    check_figures(session)
    return {"spent": spent, "partly": partly, "spending": spending}


def _tampered(session: Session, statement: Any, named: str) -> None:
    savepoint = session.begin_nested()
    try:
        session.execute(statement)
        with pytest.raises(FiguresMismatch, match=named):
            check_figures(session)
        rebuild_figures(session)
        check_figures(session)
    finally:
        savepoint.rollback()


def test_a_changed_row_of_a_gift_let_go_early_or_held_to_the_end_fails(session: Session) -> None:
    seqs = _story(session)
    for gift in (seqs["spent"], seqs["partly"]):
        for column in ("gross", "taken_back", "own_fees", "remaining"):
            _tampered(
                session,
                sa.update(FifoInflow)
                .where(FifoInflow.seq == gift)
                .values({column: getattr(FifoInflow, column) + 1}),
                f"gift seq {gift}",
            )


def test_every_kind_of_changed_allocation_fails(session: Session) -> None:
    seqs = _story(session)
    allocation = sa.and_(
        FifoAllocation.donation_seq == seqs["spent"],
        FifoAllocation.outflow_seq == seqs["spending"],
    )
    for statement in (
        sa.update(FifoAllocation).where(allocation).values(amount=FifoAllocation.amount - 1),
        sa.update(FifoAllocation).where(allocation).values(amount=0),
        sa.delete(FifoAllocation).where(allocation),
        sa.insert(FifoAllocation).values(
            donation_seq=seqs["partly"] + 1, outflow_seq=seqs["spending"], amount=1
        ),
    ):
        _tampered(session, statement, "allocation")


def test_rows_missing_or_extra_in_every_table_fail(session: Session) -> None:
    seqs = _story(session)
    campaign = session.scalars(sa.select(CampaignStats.campaign)).one()
    empty = add_campaign(session)
    donor = sa.select(CampaignDonor.donor_commitment).limit(1).scalar_subquery()
    for statement, named in (
        (sa.delete(CampaignTotals), "ledger_campaign_totals lacks the row"),
        (
            sa.insert(CampaignTotals).values(
                campaign=empty,
                **dict.fromkeys(
                    (
                        "gross_raised",
                        "processor_fees",
                        "platform_fees",
                        "refunds",
                        "disputes",
                        "disbursed",
                        "available",
                        "uncovered",
                        "last_seq",
                    ),
                    0,
                ),
                currency="CNY",
            ),
            f"ledger_campaign_totals has a row for {empty}",
        ),
        (sa.delete(CampaignStats), f"ledger_campaign_stats lacks the row for {campaign}"),
        (
            sa.insert(CampaignStats).values(campaign=empty, donors=0, donations=0, last_seq=0),
            f"ledger_campaign_stats has a row for {empty}",
        ),
        (
            sa.update(CampaignStats).values(last_seq=CampaignStats.last_seq - 1),
            "ledger_campaign_stats .* last_seq",
        ),
        (
            sa.delete(CampaignDonor).where(CampaignDonor.donor_commitment == donor),
            f"ledger_campaign_donors differs for campaign {campaign}",
        ),
        (
            sa.insert(CampaignDonor).values(campaign=campaign, donor_commitment="f" * 64),
            f"ledger_campaign_donors differs for campaign {campaign}",
        ),
        (
            sa.insert(CampaignDonor).values(campaign=empty, donor_commitment="e" * 64),
            f"ledger_campaign_donors differs for campaign {empty}",
        ),
        (sa.delete(FifoInflow).where(FifoInflow.seq == seqs["spent"]), "gift seq"),
        (
            sa.delete(FifoOutflow).where(FifoOutflow.seq == seqs["spending"]),
            f"outflow seq {seqs['spending']} is not stored",
        ),
    ):
        _tampered(session, statement, named)


_late_ops = st.lists(
    st.one_of(
        _op,
        st.tuples(st.just("gift_fee_later"), st.integers(1, 30_000), st.integers(1, 900)),
        st.tuples(st.just("late_fees")),
    ),
    max_size=30,
)


class LateFeeStory(Story):
    """The property test's stories, where a gift's fee may also come after later entries."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.fees_due: list[tuple[str, int]] = []

    def play(self, op: tuple[object, ...]) -> None:
        if op[0] == "gift_fee_later":
            self.counter += 1
            charge = f"ch_{self.counter}"
            self.draft(
                rules.DONATION,
                -int(op[1]),  # type: ignore[call-overload]
                "processor:stripe",
                ref=f"{charge}:donation",
                donor_commitment=f"{self.counter:064x}",
            )
            self.fees_due.append((charge, int(op[2])))  # type: ignore[call-overload]
        elif op[0] == "late_fees":
            for charge, fee in self.fees_due:
                self.draft(
                    rules.PROCESSOR_FEE, fee, "processor:stripe", ref=f"{charge}:processor_fee"
                )
            self.fees_due = []
        else:
            super().play(op)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=_late_ops, window=st.sampled_from([1, 3, 4096]))
def test_fees_sealed_late_still_replay_to_the_stored_figures(
    session: Session, operations: list[tuple[object, ...]], window: int
) -> None:
    savepoint = session.begin_nested()
    saved = figures_stream._FEE_WINDOW
    figures_stream._FEE_WINDOW = window  # a short window sends more stories down the careful pass
    try:
        add_campaign(session, CAMPAIGN)
        story = LateFeeStory(session)
        for op in operations:
            story.play(op)
        story.play(("late_fees",))
        story.seal()
        check_figures(session)
        full = replay_ledger(session)
        streamed = replay_stream(session)
        event(f"careful pass: {streamed.careful}")
        assert {k: dict(v) for k, v in full.totals.items()} == {
            (c, cur): row for c, cur, row in streamed.totals_rows()
        }
        assert streamed.gifts == sum(len(store.inflows) for store in full.books.values())
    finally:
        figures_stream._FEE_WINDOW = saved
        savepoint.rollback()
