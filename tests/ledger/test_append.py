"""Appending to the ledger: what is recorded, what is refused, and that refusals write nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger.canonical import GENESIS_CHAIN_HASH, chain_hash, leaf_record, record_leaf_hash
from giving.ledger.errors import InvalidEntry, RefConflict, UnknownCampaign
from giving.ledger.models import LedgerNode, LedgerPosting
from giving.ledger.rules import fund_account
from giving.ledger.services import Posting, append_entry
from tests.ledger.support import add_campaign, count_entries, donate, moment, reverse, spend


@pytest.fixture
def campaign(session: Session) -> str:
    return add_campaign(session, "cmp_school_books")


def test_a_donation_becomes_entry_zero_with_its_leaf_and_chain_hashes(
    session: Session, campaign: str
) -> None:
    at = dt.datetime(2026, 5, 1, 8, 0, 0, 250_000, tzinfo=dt.UTC)
    entry = append_entry(
        session,
        campaign=campaign,
        kind="donation",
        postings=[
            Posting(fund_account(campaign), -10_000, "CNY"),
            Posting("processor:stripe", 10_000, "CNY"),
        ],
        occurred_at=at,
        ref="ch_001:donation",
        memo="谢谢",
        donor_commitment="ab" * 32,
    )

    assert entry.seq == 0
    expected_leaf = leaf_record(
        seq=0,
        campaign=campaign,
        kind="donation",
        occurred_at=at,
        postings=[(fund_account(campaign), -10_000, "CNY"), ("processor:stripe", 10_000, "CNY")],
        ref="ch_001:donation",
        memo="谢谢",
        donor_commitment="ab" * 32,
    )
    assert entry.leaf_hash == record_leaf_hash(expected_leaf)
    assert entry.prev_chain_hash == GENESIS_CHAIN_HASH
    assert entry.chain_hash == chain_hash(GENESIS_CHAIN_HASH, entry.leaf_hash)
    assert [(p.account, p.amount, p.currency) for p in entry.postings] == [
        (fund_account(campaign), -10_000, "CNY"),
        ("processor:stripe", 10_000, "CNY"),
    ]


def test_each_entry_extends_the_chain_and_stores_the_subtrees_it_completes(
    session: Session, campaign: str
) -> None:
    entries = [donate(session, campaign, 100 * (n + 1)) for n in range(4)]

    assert [e.seq for e in entries] == [0, 1, 2, 3]
    for before, after in itertools.pairwise(entries):
        assert after.prev_chain_hash == before.chain_hash
    nodes = session.execute(sa.select(LedgerNode.tree_size, LedgerNode.height)).all()
    assert sorted(nodes) == [(2, 1), (4, 1), (4, 2)]


def test_the_same_ref_returns_the_entry_already_recorded(session: Session, campaign: str) -> None:
    first = donate(session, campaign, 5_000, ref="ch_42:donation")
    again = donate(session, campaign, 5_000, ref="ch_42:donation")

    assert again.seq == first.seq
    assert count_entries(session) == 1


def test_a_ref_reused_for_different_money_is_a_conflict(session: Session, campaign: str) -> None:
    donate(session, campaign, 5_000, ref="ch_42:donation")

    with pytest.raises(RefConflict, match="already recorded as entry 0"):
        donate(session, campaign, 6_000, ref="ch_42:donation")
    assert count_entries(session) == 1


def _donation(campaign: str, **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "campaign": campaign,
        "kind": "donation",
        "postings": [
            Posting("processor:stripe", 1_000, "CNY"),
            Posting(fund_account(campaign), -1_000, "CNY"),
        ],
        "occurred_at": moment(),
    }
    entry.update(changes)
    return entry


BAD_AMOUNTS = [
    pytest.param(10.0, id="float"),
    pytest.param(Decimal("10"), id="decimal"),
    pytest.param("10", id="string"),
    pytest.param(True, id="bool"),
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_amounts_that_are_not_plain_integers_are_refused(
    session: Session, campaign: str, amount: Any
) -> None:
    postings = [
        Posting("processor:stripe", amount, "CNY"),
        Posting(fund_account(campaign), -10, "CNY"),
    ]

    with pytest.raises(InvalidEntry, match="whole numbers of minor units"):
        append_entry(session, **_donation(campaign, postings=postings))
    assert count_entries(session) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {
                "postings": [
                    Posting("processor:stripe", 1_000, "CNY"),
                    Posting("campaign:cmp_school_books:fund", -999, "CNY"),
                ]
            },
            r"do not balance: they must sum to zero per currency \(CNY \+1\)",
            id="unbalanced",
        ),
        pytest.param(
            {
                "postings": [
                    Posting("processor:stripe", 1_000, "CNY"),
                    Posting("campaign:cmp_school_books:fund", -1_000, "USD"),
                ]
            },
            "do not balance",
            id="balanced-only-across-currencies",
        ),
        pytest.param(
            {
                "postings": [
                    Posting("processor:stripe", 1_000, "JPY"),
                    Posting("campaign:cmp_school_books:fund", -1_000, "JPY"),
                ]
            },
            "Unknown currency 'JPY'",
            id="unknown-currency",
        ),
        pytest.param(
            {
                "postings": [
                    Posting("processor:paypal", 1_000, "CNY"),
                    Posting("campaign:cmp_school_books:fund", -1_000, "CNY"),
                ]
            },
            "Unknown account 'processor:paypal'",
            id="unknown-account",
        ),
        pytest.param(
            {
                "postings": [
                    Posting("processor:stripe", 1_000, "CNY"),
                    Posting("campaign:cmp_other:fund", -1_000, "CNY"),
                ]
            },
            "cannot post to campaign:cmp_other:fund",
            id="another-campaigns-fund",
        ),
        pytest.param(
            {
                "postings": [
                    Posting("processor:stripe", -1_000, "CNY"),
                    Posting("campaign:cmp_school_books:fund", 1_000, "CNY"),
                ]
            },
            "A donation must credit campaign:cmp_school_books:fund, not processor:stripe",
            id="donation-backwards",
        ),
        pytest.param(
            {
                "postings": [
                    Posting("processor:stripe", 0, "CNY"),
                    Posting("campaign:cmp_school_books:fund", 0, "CNY"),
                ]
            },
            "zero amount",
            id="zero",
        ),
        pytest.param({"postings": []}, "at least one posting", id="no-postings"),
        pytest.param({"kind": "gift"}, "Unknown entry kind 'gift'", id="unknown-kind"),
        pytest.param({"occurred_at": dt.datetime(2026, 1, 1)}, "timezone-aware", id="naive-time"),
        pytest.param({"evidence": ["not-a-digest"]}, "is not a SHA-256 digest", id="bad-evidence"),
        pytest.param({"donor_commitment": "ABC"}, "64 lower-case hex", id="bad-commitment"),
        pytest.param({"reverses": 0}, "A donation does not reverse", id="donation-reverses"),
        pytest.param({"memo": "x" * 501}, "at most 500 characters", id="long-memo"),
        pytest.param({"memo": "\ud800"}, "cannot be published", id="lone-surrogate"),
    ],
)
def test_malformed_entries_are_refused_and_nothing_is_written(
    session: Session, campaign: str, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidEntry, match=message):
        append_entry(session, **_donation(campaign, **changes))
    assert count_entries(session) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(LedgerPosting)) == 0


def test_an_unknown_campaign_is_refused(session: Session) -> None:
    with pytest.raises(UnknownCampaign, match="There is no campaign cmp_nowhere"):
        append_entry(session, **_donation("cmp_nowhere"))
    assert count_entries(session) == 0


# ------------------------------------------------------------------------------ reversals


def test_a_reversal_exactly_negates_the_entry_it_names(session: Session, campaign: str) -> None:
    fee = spend(session, campaign, "platform_fee", 300, "income:platform_fees")

    correction = reverse(session, fee, memo="fee charged in error")

    assert correction.kind == "reversal"
    assert correction.reverses == fee.seq
    assert sorted((p.account, p.amount) for p in correction.postings) == sorted(
        (p.account, -p.amount) for p in fee.postings
    )


def test_an_entry_can_be_reversed_only_once(session: Session, campaign: str) -> None:
    gift = donate(session, campaign, 1_000)
    reverse(session, gift)

    with pytest.raises(InvalidEntry, match="Entry 0 is already reversed \\(by entry 1\\)"):
        reverse(session, gift)
    assert count_entries(session) == 2


def test_reversing_an_unknown_entry_is_refused(session: Session, campaign: str) -> None:
    donate(session, campaign, 1_000)

    with pytest.raises(InvalidEntry, match="There is no entry 7 for this reversal to undo"):
        append_entry(
            session,
            campaign=campaign,
            kind="reversal",
            postings=[
                Posting("processor:stripe", -1_000, "CNY"),
                Posting(fund_account(campaign), 1_000, "CNY"),
            ],
            occurred_at=moment(),
            reverses=7,
        )
    assert count_entries(session) == 1


def test_a_reversal_must_negate_the_original_exactly(session: Session, campaign: str) -> None:
    gift = donate(session, campaign, 1_000)

    with pytest.raises(InvalidEntry, match="must exactly negate those of entry 0"):
        append_entry(
            session,
            campaign=campaign,
            kind="reversal",
            postings=[
                Posting("processor:stripe", -900, "CNY"),
                Posting(fund_account(campaign), 900, "CNY"),
            ],
            occurred_at=moment(),
            reverses=gift.seq,
        )


def test_a_reversal_cannot_itself_be_reversed(session: Session, campaign: str) -> None:
    correction = reverse(session, donate(session, campaign, 1_000))

    with pytest.raises(InvalidEntry, match="itself a reversal"):
        reverse(session, correction)


def test_a_donation_with_a_live_refund_cannot_be_reversed(session: Session, campaign: str) -> None:
    gift = donate(session, campaign, 1_000)
    refund = spend(session, campaign, "refund", 400, "processor:stripe", reverses=gift.seq)

    with pytest.raises(InvalidEntry, match="still has refund 1 against it"):
        reverse(session, gift)
    reverse(session, refund)
    reverse(session, gift)  # once the refund is undone, the gift can be


# ------------------------------------------------------------------------------ refunds


def test_refunds_never_exceed_the_donation_they_refund(session: Session, campaign: str) -> None:
    gift = donate(session, campaign, 1_000)
    spend(session, campaign, "refund", 600, "processor:stripe", reverses=gift.seq)

    with pytest.raises(InvalidEntry, match=r"exceeds the 4\.00 CNY of entry 0 not yet refunded"):
        spend(session, campaign, "refund", 401, "processor:stripe", reverses=gift.seq)
    spend(session, campaign, "refund", 400, "processor:stripe", reverses=gift.seq)
    assert count_entries(session) == 3


def test_a_refund_must_name_a_donation(session: Session, campaign: str) -> None:
    donate(session, campaign, 1_000)
    fee = spend(session, campaign, "processor_fee", 6, "processor:stripe")

    with pytest.raises(InvalidEntry, match="must name a donation, but entry 1 is a processor_fee"):
        spend(session, campaign, "refund", 6, "processor:stripe", reverses=fee.seq)
    with pytest.raises(InvalidEntry, match="must name the donation it undoes"):
        spend(session, campaign, "refund", 6, "processor:stripe")


def test_a_refund_of_another_campaigns_donation_is_refused(session: Session, campaign: str) -> None:
    other = add_campaign(session, "cmp_other")
    gift = donate(session, other, 1_000)

    with pytest.raises(InvalidEntry, match="belongs to campaign cmp_other"):
        spend(session, campaign, "refund", 10, "processor:stripe", reverses=gift.seq)


def test_disputes_count_against_the_donation_until_won_back(
    session: Session, campaign: str
) -> None:
    gift = donate(session, campaign, 1_000)
    dispute = spend(session, campaign, "dispute", 1_000, "dispute:held", reverses=gift.seq)
    with pytest.raises(InvalidEntry, match=r"exceeds the 0\.00 CNY"):
        spend(session, campaign, "refund", 1, "processor:stripe", reverses=gift.seq)

    append_entry(
        session,
        campaign=campaign,
        kind="dispute_won",
        postings=[
            Posting("dispute:held", 1_000, "CNY"),
            Posting(fund_account(campaign), -1_000, "CNY"),
        ],
        occurred_at=moment(),
        reverses=dispute.seq,
    )
    spend(session, campaign, "refund", 1_000, "processor:stripe", reverses=gift.seq)


def test_a_dispute_cannot_be_won_back_twice(session: Session, campaign: str) -> None:
    gift = donate(session, campaign, 1_000)
    dispute = spend(session, campaign, "dispute", 700, "dispute:held", reverses=gift.seq)
    won = {
        "campaign": campaign,
        "kind": "dispute_won",
        "postings": [
            Posting("dispute:held", 700, "CNY"),
            Posting(fund_account(campaign), -700, "CNY"),
        ],
        "reverses": dispute.seq,
    }
    append_entry(session, occurred_at=moment(), **won)

    with pytest.raises(InvalidEntry, match=r"exceeds the 0\.00 CNY of dispute 1 not yet won back"):
        append_entry(session, occurred_at=moment(), **won)


# ------------------------------------------------------------------------------ disbursements


def test_a_disbursement_cannot_pay_out_more_than_is_available(
    session: Session, campaign: str
) -> None:
    donate(session, campaign, 10_000)
    spend(session, campaign, "processor_fee", 60, "processor:stripe")

    with pytest.raises(InvalidEntry, match=r"exceeds the 99\.40 CNY available"):
        spend(session, campaign, "disbursement", 9_941, "payee:disbursed")
    spend(session, campaign, "disbursement", 9_940, "payee:disbursed")


def test_money_in_one_currency_cannot_pay_out_another(session: Session, campaign: str) -> None:
    donate(session, campaign, 10_000, currency="CNY")

    with pytest.raises(InvalidEntry, match=r"exceeds the 0\.00 USD available"):
        spend(session, campaign, "disbursement", 100, "payee:disbursed", currency="USD")
