"""Starting a checkout with Stripe keys: the real stripe client against the local fake Stripe."""

from __future__ import annotations

import socket
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign, CampaignState
from giving.money import Money
from giving.payments.models import DonationIntent
from tests.campaigns.factories import make_campaign
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import API_KEY, FakeStripe


def test_a_one_off_gift_opens_a_stripe_checkout_with_card_alipay_and_wechat_pay(
    session: Session, campaign: Campaign, stripe_client: FlaskClient, fake_stripe: FakeStripe
) -> None:
    response = stripe_client.post(
        f"/campaigns/{campaign.public_id}/give",
        data={
            "preset": "5000",
            "frequency": "one_off",
            "display_name": "Li Wei",
            "email": "li@example.org",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    (created,) = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    intent = session.scalars(sa.select(DonationIntent)).one()
    session.refresh(intent)
    params = created.params
    assert created.headers["Idempotency-Key"] == f"giving-checkout-{intent.public_id}"
    assert params["mode"] == "payment"
    assert [params[f"payment_method_types[{i}]"] for i in range(3)] == [
        "card",
        "alipay",
        "wechat_pay",
    ]
    assert params["payment_method_options[wechat_pay][client]"] == "web"
    assert params["line_items[0][price_data][currency]"] == "cny"
    assert params["line_items[0][price_data][unit_amount]"] == "5000"
    assert params["metadata[giving_intent]"] == intent.public_id
    assert params["payment_intent_data[metadata][giving_intent]"] == intent.public_id
    assert params["customer_email"] == "li@example.org"
    assert params["success_url"].startswith("http://giving.test/donations/")
    assert intent.checkout_session_id == response.headers["Location"].rsplit("/", 1)[1]
    assert intent.status == "pending"
    assert intent.provider == "stripe"


def test_a_monthly_gift_is_a_card_only_subscription_checkout(
    session: Session, campaign: Campaign, stripe_client: FlaskClient, fake_stripe: FakeStripe
) -> None:
    response = stripe_client.post(
        f"/campaigns/{campaign.public_id}/give",
        data={"custom_amount": "30", "frequency": "monthly"},
    )

    assert response.status_code == 303
    params = fake_stripe.requests_to("POST", "/v1/checkout/sessions")[0].params
    assert params["mode"] == "subscription"
    assert [k for k in params if k.startswith("payment_method_types")] == [
        "payment_method_types[0]"
    ]
    assert params["payment_method_types[0]"] == "card"
    assert params["line_items[0][price_data][recurring][interval]"] == "month"
    assert params["line_items[0][price_data][unit_amount]"] == "3000"
    assert params["subscription_data[metadata][giving_intent]"].startswith("gi_")
    assert "payment_method_options[wechat_pay][client]" not in params


def test_payment_methods_follow_what_each_currency_allows(
    session: Session, stripe_client: FlaskClient, fake_stripe: FakeStripe
) -> None:
    for currency in ("USD", "HKD", "EUR"):
        other = make_campaign(session, state=CampaignState.LIVE, goal=Money(100_000, currency))
        stripe_client.post(
            f"/campaigns/{other.public_id}/give",
            data={"custom_amount": "20", "frequency": "one_off"},
        )
        params = fake_stripe.requests_to("POST", "/v1/checkout/sessions")[-1].params
        assert params["line_items[0][price_data][currency]"] == currency.lower()
        assert [v for k, v in sorted(params.items()) if k.startswith("payment_method_types")] == [
            "card",
            "alipay",
            "wechat_pay",
        ]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_stripe_unreachable_gives_a_friendly_retry_message_and_starts_nothing(
    session: Session, campaign: Campaign, make_app: Callable[..., Flask]
) -> None:
    app = make_app(
        STRIPE_SECRET_KEY=API_KEY,
        STRIPE_API_BASE=f"http://127.0.0.1:{_closed_port()}",
        STRIPE_MAX_RETRIES=0,
    )

    response = app.test_client().post(
        f"/campaigns/{campaign.public_id}/give",
        data={"preset": "5000", "frequency": "one_off", "message": "hello"},
    )

    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "We could not reach the payment service just now. Nothing was charged" in html
    assert "hello" in html  # what the donor typed is kept
    assert session.scalars(sa.select(DonationIntent)).all() == []


def test_stripe_answering_with_an_error_also_gives_the_retry_message(
    session: Session, campaign: Campaign, stripe_client: FlaskClient, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_with = 500

    response = stripe_client.post(
        f"/campaigns/{campaign.public_id}/give", data={"preset": "5000", "frequency": "one_off"}
    )

    assert response.status_code == 503
    assert "please try again in a minute" in response.get_data(as_text=True)


def test_a_monthly_donor_cancelling_cancels_the_stripe_subscription_once(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=2000, monthly=True)
    subscription = support.new_id("sub")
    fake_stripe.add(support.fixture("subscription", id=subscription, status="active"))
    new.intent.subscription_id = subscription
    new.intent.status = "paid"
    session.flush()

    first = stripe_client.post(f"/donations/{new.receipt_token}/cancel")
    second = stripe_client.post(f"/donations/{new.receipt_token}/cancel")

    assert first.status_code == second.status_code == 303
    (cancel,) = fake_stripe.requests_to("DELETE", "/v1/subscriptions/")
    assert cancel.path == f"/v1/subscriptions/{subscription}"
    assert fake_stripe.objects[subscription]["status"] == "canceled"
    assert books.intent(new.intent.public_id).cancelled_at is not None
