"""Stripe webhooks as stories: every paid gift lands in the ledger once, with its real fee.

Events are built from Stripe's example objects and signed the way Stripe signs them; the
handler looks up charges and fees through the real stripe client talking to a fake Stripe.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign
from giving.campaigns.queries import campaign_progress
from giving.payments.models import EventStatus, IntentStatus
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import API_KEY, FakeStripe, paid_checkout

FUND = "campaign:{}:fund"


# --- a gift is paid ------------------------------------------------------------------------


def test_a_paid_checkout_records_the_gift_and_its_stripe_fee_as_separate_entries(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=5000)
    event, charge_id = paid_checkout(fake_stripe, new.intent.public_id, fee=175)

    response = support.post_event(stripe_client, event)

    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False}
    donation, fee = books.entries(campaign)
    fund = FUND.format(campaign.public_id)
    assert donation.kind == "donation"
    assert books.postings(donation) == {"processor:stripe": 5000, fund: -5000}
    assert donation.ref == f"{charge_id}:donation"
    assert donation.donor_commitment == new.intent.donor_commitment
    assert fee.kind == "processor_fee"
    assert books.postings(fee) == {fund: 175, "processor:stripe": -175}
    assert books.intent(new.intent.public_id).status == IntentStatus.PAID
    # The fee came from the charge's balance transaction, fetched with the real client.
    (lookup,) = fake_stripe.requests_to("GET", "/v1/payment_intents/")
    assert lookup.params == {"expand[0]": "latest_charge.balance_transaction"}
    progress = campaign_progress(session, campaign)
    assert (progress.raised_minor, progress.donors) == (5000, 1)


def test_the_same_event_delivered_again_is_recognised_and_records_nothing_more(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    event, _ = paid_checkout(fake_stripe, new.intent.public_id)

    first = support.post_event(stripe_client, event)
    again = [support.post_event(stripe_client, event) for _ in range(3)]

    assert first.get_json()["duplicate"] is False
    assert all(r.status_code == 200 and r.get_json()["duplicate"] is True for r in again)
    assert books.kinds(campaign) == ["donation", "processor_fee"]
    assert len(books.events()) == 1
    assert len(fake_stripe.requests_to("GET", "/v1/payment_intents/")) == 1


def test_two_different_events_about_one_payment_record_it_once(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    completed, _ = paid_checkout(fake_stripe, new.intent.public_id)
    succeeded = support.event(
        "checkout.session.async_payment_succeeded", completed["data"]["object"]
    )  # type: ignore[index]

    support.post_event(stripe_client, completed)
    support.post_event(stripe_client, succeeded)

    assert books.kinds(campaign) == ["donation", "processor_fee"]
    assert len(books.donations()) == 1
    assert books.state_of(succeeded["id"]).status == EventStatus.HANDLED


def test_a_fee_settled_in_another_currency_is_converted_at_the_transactions_own_rate(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=5000)
    # ¥50.00 settled as US$6.90 with a US$0.50 fee: 50 × 5000 / 690 = 362.3 fen.
    pi, _ = fake_stripe.add_paid_intent(
        amount=5000, currency="CNY", fee=50, settled=690, settlement_currency="USD"
    )
    checkout = support.checkout_session(
        new.intent.public_id, amount=5000, currency="CNY", payment_intent=pi
    )

    support.post_event(stripe_client, support.event("checkout.session.completed", checkout))

    fee = books.entries(campaign)[1]
    assert books.postings(fee)[FUND.format(campaign.public_id)] == 362
    # Amounts in the memo are major units with their currency (issue 11: they were minor).
    assert "fee 0.50 USD of 6.90 USD settled = 3.62 CNY (txn_" in fee.memo


def test_a_fee_memo_states_the_fee_in_major_units_with_its_currency(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=1200_00)
    pi, _ = fake_stripe.add_paid_intent(amount=1200_00, currency="CNY", fee=79)
    checkout = support.checkout_session(
        new.intent.public_id, amount=1200_00, currency="CNY", payment_intent=pi
    )

    support.post_event(stripe_client, support.event("checkout.session.completed", checkout))

    fee = books.entries(campaign)[1]
    assert books.postings(fee)[FUND.format(campaign.public_id)] == 79
    assert fee.memo.startswith("fee 0.79 CNY (txn_"), fee.memo


def test_a_configured_platform_fee_is_an_entry_of_its_own(
    session: Session,
    campaign: Campaign,
    make_app: Callable[..., Flask],
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    app = make_app(
        STRIPE_SECRET_KEY=API_KEY,
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_MAX_RETRIES=0,
        PLATFORM_FEE_BPS=250,
    )
    new = make_intent(session, campaign, amount=5000)
    event, charge_id = paid_checkout(fake_stripe, new.intent.public_id)

    support.post_event(app.test_client(), event)

    assert books.kinds(campaign) == ["donation", "processor_fee", "platform_fee"]
    platform = books.entries(campaign)[2]
    assert books.postings(platform) == {
        FUND.format(campaign.public_id): 125,
        "income:platform_fees": -125,
    }
    assert platform.ref == f"{charge_id}:platform_fee"


def test_a_delayed_payment_counts_only_once_it_has_succeeded(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    pi, _ = fake_stripe.add_paid_intent(amount=5000, currency="CNY", fee=175)
    checkout = support.checkout_session(
        new.intent.public_id,
        amount=5000,
        currency="CNY",
        payment_intent=pi,
        payment_status="unpaid",
    )

    support.post_event(stripe_client, support.event("checkout.session.completed", checkout))

    assert books.entries(campaign) == []
    assert books.intent(new.intent.public_id).status == IntentStatus.PROCESSING
    assert campaign_progress(session, campaign).raised_minor == 0

    checkout = dict(checkout, payment_status="paid")
    support.post_event(
        stripe_client, support.event("checkout.session.async_payment_succeeded", checkout)
    )

    assert books.kinds(campaign) == ["donation", "processor_fee"]
    assert campaign_progress(session, campaign).raised_minor == 5000


def test_a_failed_delayed_payment_marks_the_gift_failed_and_records_nothing(
    session: Session, campaign: Campaign, stripe_client: FlaskClient, books: Books
) -> None:
    new = make_intent(session, campaign)
    checkout = support.checkout_session(
        new.intent.public_id,
        amount=5000,
        currency="CNY",
        payment_intent=None,
        payment_status="unpaid",
    )

    support.post_event(
        stripe_client, support.event("checkout.session.async_payment_failed", checkout)
    )

    assert books.intent(new.intent.public_id).status == IntentStatus.FAILED
    assert books.entries(campaign) == []


# --- what is refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    ["missing", "garbage", "wrong secret", "stale", "tampered body", "other event's signature"],
)
def test_a_webhook_without_a_valid_fresh_signature_gets_400_and_nothing_is_recorded(
    case: str,
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    event, _ = paid_checkout(fake_stripe, new.intent.public_id)
    payload = support.encode(event)
    signature = support.sign(payload)
    if case == "missing":
        headers: dict[str, str] = {}
    elif case == "garbage":
        headers = {"Stripe-Signature": "definitely not a signature"}
    elif case == "wrong secret":
        headers = {"Stripe-Signature": support.sign(payload, "whsec_someone_else")}
    elif case == "stale":
        headers = {"Stripe-Signature": support.sign(payload, timestamp=int(time.time()) - 301)}
    elif case == "tampered body":
        headers = {"Stripe-Signature": signature}
        payload = payload.replace(b'"amount_total": 5000', b'"amount_total": 500000')
    else:
        other, _ = paid_checkout(fake_stripe, new.intent.public_id)
        headers = {"Stripe-Signature": support.sign(support.encode(other))}

    response = stripe_client.post(
        "/webhooks/stripe", data=payload, headers=headers, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid webhook"
    assert books.events() == []
    assert books.entries(campaign) == []


def test_a_signed_body_that_is_not_a_stripe_event_gets_400(
    stripe_client: FlaskClient, books: Books
) -> None:
    for payload in (
        b"not json",
        b'{"object": "list"}',
        b'{"id": "evt_1", "object": "event", "type": "x"}',
    ):
        response = stripe_client.post(
            "/webhooks/stripe", data=payload, headers={"Stripe-Signature": support.sign(payload)}
        )
        assert response.status_code == 400
    assert books.events() == []


def test_a_webhook_needs_no_csrf_token_even_with_csrf_protection_on(
    make_app: Callable[..., Flask], fake_stripe: FakeStripe, books: Books
) -> None:
    app = make_app(
        WTF_CSRF_ENABLED=True, STRIPE_SECRET_KEY=API_KEY, STRIPE_API_BASE=fake_stripe.url
    )
    response = support.post_event(
        app.test_client(), support.event("customer.created", support.fixture("account"))
    )
    assert response.status_code == 200


def test_an_event_type_giving_does_not_use_is_acknowledged_stored_and_ignored(
    stripe_client: FlaskClient, books: Books
) -> None:
    event = support.event("payout.paid", support.fixture("payout"))

    response = support.post_event(stripe_client, event)

    assert response.status_code == 200
    assert books.state_of(event["id"]).status == EventStatus.IGNORED


def test_a_payment_for_a_different_amount_is_flagged_for_an_admin_and_not_recorded(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=5000)
    event, _ = paid_checkout(fake_stripe, new.intent.public_id, amount=50000)

    response = support.post_event(stripe_client, event)

    assert response.status_code == 200
    assert books.entries(campaign) == []
    (flag,) = books.flags()
    assert flag.kind == "amount_mismatch"
    assert flag.intent_id == new.intent.id
    assert "50000" in flag.summary
    assert "5000" in flag.summary
    assert books.state_of(event["id"]).status == EventStatus.FLAGGED
    assert books.intent(new.intent.public_id).status == IntentStatus.PENDING


def test_a_payment_in_another_currency_is_flagged_and_not_recorded(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=5000)
    event, _ = paid_checkout(fake_stripe, new.intent.public_id, currency="USD")

    support.post_event(stripe_client, event)

    assert [flag.kind for flag in books.flags()] == ["currency_mismatch"]
    assert books.entries(campaign) == []


@pytest.mark.parametrize("intent_id", [None, "gi_does_not_exist"])
def test_a_payment_for_an_unknown_gift_is_flagged_and_not_recorded(
    intent_id: str | None,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    event, _ = paid_checkout(fake_stripe, intent_id)  # type: ignore[arg-type]

    response = support.post_event(stripe_client, event)

    assert response.status_code == 200
    assert [flag.kind for flag in books.flags()] == ["unknown_intent"]
    assert books.donations() == []


def test_stripe_unreachable_while_handling_fails_the_delivery_and_a_redelivery_records_it(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign)
    event, _ = paid_checkout(fake_stripe, new.intent.public_id)
    fake_stripe.fail_with = 500

    failed = support.post_event(stripe_client, event)

    assert failed.status_code == 500  # so Stripe delivers it again
    assert books.state_of(event["id"]).status == EventStatus.FAILED
    assert books.entries(campaign) == []

    fake_stripe.fail_with = None
    retried = support.post_event(stripe_client, event)

    assert retried.status_code == 200
    assert books.kinds(campaign) == ["donation", "processor_fee"]
    assert books.state_of(event["id"]).status == EventStatus.HANDLED


def test_without_stripe_keys_and_with_the_sandbox_off_the_webhook_does_not_exist(
    make_app: Callable[..., Flask], books: Books
) -> None:
    app = make_app(SANDBOX_PAYMENTS=False)
    event = support.event("payout.paid", support.fixture("payout"))

    assert support.post_event(app.test_client(), event).status_code == 404
    assert books.events() == []
