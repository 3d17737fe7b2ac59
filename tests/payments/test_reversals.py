"""Refunds and disputes as stories: money taken back is recorded once, even out of order.

Events are built from Stripe's example objects and signed the way Stripe signs them.
"""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign
from giving.campaigns.queries import campaign_progress
from giving.payments.models import EventStatus
from giving.payments.queries import recent_supporters
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import FakeStripe, paid_checkout

FUND = "campaign:{}:fund"


# --- refunds -------------------------------------------------------------------------------


def refunded_event(
    charge_id: str, refunds: list[dict[str, object]], *, amount: int = 5000
) -> dict[str, object]:
    obj = support.charge(
        amount=amount, currency="CNY", payment_intent="pi_x", balance_txn="txn_x", refunds=refunds
    )  # type: ignore[arg-type]
    obj["id"] = charge_id
    return support.event("charge.refunded", obj)


def test_a_refund_that_arrives_before_its_payment_is_parked_then_applied(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    refund = support.refund(charge_id, amount=5000, currency="CNY")
    early_refund = refunded_event(charge_id, [refund])

    support.post_event(stripe_client, early_refund)

    assert books.entries(campaign) == []
    state = books.state_of(early_refund["id"])
    assert (state.status, state.waiting_for) == (EventStatus.PARKED, f"charge:{charge_id}")

    support.post_event(stripe_client, payment)

    entries = books.entries(campaign)
    assert [e.kind for e in entries] == ["donation", "processor_fee", "refund"]
    assert entries[2].reverses == entries[0].seq
    assert entries[2].ref == f"{refund['id']}:refund"
    assert books.state_of(early_refund["id"]).status == EventStatus.HANDLED
    assert campaign_progress(session, campaign).raised_minor == 0
    assert recent_supporters(session, campaign.id) == []  # a refunded gift is not support


def test_partial_refunds_are_each_recorded_once_however_often_stripe_repeats_them(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    support.post_event(stripe_client, payment)
    first = support.refund(charge_id, amount=2000, currency="CNY")
    second = support.refund(charge_id, amount=3000, currency="CNY")

    support.post_event(stripe_client, refunded_event(charge_id, [first]))
    # The second charge.refunded event lists both refunds, as Stripe's charge object does.
    support.post_event(stripe_client, refunded_event(charge_id, [first, second]))

    refunds = [e for e in books.entries(campaign) if e.kind == "refund"]
    assert sorted(books.postings(e)[FUND.format(campaign.public_id)] for e in refunds) == [
        2000,
        3000,
    ]
    assert campaign_progress(session, campaign).raised_minor == 0


def test_refunds_are_looked_up_with_the_api_when_the_event_does_not_list_them(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    support.post_event(stripe_client, payment)
    fake_stripe.add(support.refund(charge_id, amount=1200, currency="CNY"))

    support.post_event(stripe_client, refunded_event(charge_id, []))

    assert books.kinds(campaign)[-1] == "refund"
    (listing,) = fake_stripe.requests_to("GET", "/v1/refunds")
    assert listing.params["charge"] == charge_id


def test_a_refund_beyond_the_gift_is_flagged_not_recorded(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    support.post_event(stripe_client, payment)

    support.post_event(
        stripe_client,
        refunded_event(charge_id, [support.refund(charge_id, amount=6000, currency="CNY")]),
    )

    assert "refund" not in books.kinds(campaign)
    assert [flag.kind for flag in books.flags()] == ["amount_mismatch"]


# --- disputes ------------------------------------------------------------------------------


def dispute_fee_txn(fee: int) -> dict[str, object]:
    return support.fixture(
        "balance_transaction",
        id=support.new_id("txn"),
        amount=-5000 - fee,
        fee=fee,
        currency="cny",
        type="adjustment",
    )


def test_a_lost_dispute_takes_the_money_and_its_fee_and_closing_it_changes_nothing(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    support.post_event(stripe_client, payment)
    dispute = support.dispute(
        charge_id,
        amount=5000,
        currency="CNY",
        status="needs_response",
        balance_transactions=[dispute_fee_txn(1500)],
    )

    support.post_event(stripe_client, support.event("charge.dispute.created", dispute))
    support.post_event(
        stripe_client, support.event("charge.dispute.closed", dict(dispute, status="lost"))
    )

    entries = books.entries(campaign)
    assert [e.kind for e in entries] == ["donation", "processor_fee", "dispute", "processor_fee"]
    fund = FUND.format(campaign.public_id)
    assert books.postings(entries[2]) == {fund: 5000, "dispute:held": -5000}
    assert entries[2].reverses == entries[0].seq
    assert books.postings(entries[3]) == {fund: 1500, "processor:stripe": -1500}
    assert campaign_progress(session, campaign).raised_minor == 0


def test_a_won_dispute_returns_the_money_to_the_campaign(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    support.post_event(stripe_client, payment)
    dispute = support.dispute(charge_id, amount=5000, currency="CNY", status="under_review")

    support.post_event(stripe_client, support.event("charge.dispute.created", dispute))
    assert campaign_progress(session, campaign).raised_minor == 0
    support.post_event(
        stripe_client, support.event("charge.dispute.closed", dict(dispute, status="won"))
    )

    entries = books.entries(campaign)
    assert [e.kind for e in entries] == ["donation", "processor_fee", "dispute", "dispute_won"]
    assert entries[3].reverses == entries[2].seq
    assert books.postings(entries[3]) == {
        "dispute:held": 5000,
        FUND.format(campaign.public_id): -5000,
    }
    assert campaign_progress(session, campaign).raised_minor == 5000


def test_a_won_dispute_whose_opening_event_never_came_is_still_booked_in_full(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    support.post_event(stripe_client, payment)
    dispute = support.dispute(charge_id, amount=5000, currency="CNY", status="won")

    support.post_event(stripe_client, support.event("charge.dispute.closed", dispute))
    support.post_event(
        stripe_client,
        support.event("charge.dispute.created", dict(dispute, status="needs_response")),
    )

    assert books.kinds(campaign) == ["donation", "processor_fee", "dispute", "dispute_won"]


def test_a_dispute_inquiry_moves_no_money(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    support.post_event(stripe_client, payment)

    support.post_event(
        stripe_client,
        support.event(
            "charge.dispute.created",
            support.dispute(
                charge_id, amount=5000, currency="CNY", status="warning_needs_response"
            ),
        ),
    )

    assert books.kinds(campaign) == ["donation", "processor_fee"]


def test_a_dispute_before_its_payment_is_parked_then_applied(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    payment, charge_id = paid_checkout(fake_stripe, new.intent.public_id)
    early = support.event(
        "charge.dispute.created",
        support.dispute(charge_id, amount=5000, currency="CNY", status="needs_response"),
    )

    support.post_event(stripe_client, early)
    assert books.state_of(early["id"]).status == EventStatus.PARKED
    support.post_event(stripe_client, payment)

    assert books.kinds(campaign) == ["donation", "processor_fee", "dispute"]
