"""Webhook bodies that can never be handled: refused at the door, or rejected for good.

A signed event whose fields are not what Stripe sends (an amount that is text, a list where
an object belongs) would fail the same way on every retry. It is stored, marked *rejected*
(never retried, by a redelivery or by ``giving payments retry-events``) and flagged for an
admin. A body too deeply nested to parse safely, or signed with a time too far in the future,
is refused with 400 and nothing is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign
from giving.payments.jobs import make_runner, retry_failed_events
from giving.payments.models import EventStatus
from giving.payments.runtime import config as payments_config
from tests.campaigns.factories import log_in, make_admin
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import FakeStripe, paid_checkout

Event = dict[str, Any]


def _checkout(fake: FakeStripe, session: Session, campaign: Campaign) -> Event:
    event, _ = paid_checkout(fake, make_intent(session, campaign).intent.public_id)
    return event


def _with(event: Event, path: str, value: Any) -> Event:
    """``event`` with the field at dotted ``path`` (from data.object) set, or removed."""
    target: Any = event["data"]["object"] if not path.startswith("event.") else event
    keys = path.removeprefix("event.").split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _REMOVE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return event


_REMOVE = object()


def _refund_event(kind: str) -> Event:
    return support.event(kind, support.refund("ch_test_1", amount=1000, currency="CNY"))


def _charge_refunded() -> Event:
    refund = support.refund("ch_test_1", amount=1000, currency="CNY")
    charge = support.charge(
        amount=5000, currency="CNY", payment_intent="pi_x", balance_txn="txn_x", refunds=[refund]
    )
    return support.event("charge.refunded", charge)


def _dispute() -> Event:
    return support.event(
        "charge.dispute.created",
        support.dispute(
            "ch_test_1",
            amount=5000,
            currency="CNY",
            status="needs_response",
            balance_transactions=[
                {"id": "txn_1", "fee": 1500, "currency": "cny", "amount": -5000, "object": "x"}
            ],
        ),
    )


def _invoice() -> Event:
    return support.event(
        "invoice.paid",
        support.invoice(amount=5000, currency="CNY", subscription="sub_1", intent_public_id="gi_1"),
    )


Builder = Callable[[FakeStripe, Session, Campaign], Event]

BAD: dict[str, tuple[Builder, str]] = {
    "checkout amount is text": (
        lambda f, s, c: _with(_checkout(f, s, c), "amount_total", "abc"),
        "amount_total",
    ),
    "checkout amount is true": (
        lambda f, s, c: _with(_checkout(f, s, c), "amount_total", True),
        "amount_total",
    ),
    "checkout amount overflows": (
        lambda f, s, c: _with(_checkout(f, s, c), "amount_total", 10**20),
        "amount_total",
    ),
    "checkout amount is negative": (
        lambda f, s, c: _with(_checkout(f, s, c), "amount_total", -5000),
        "amount_total",
    ),
    "checkout currency is a number": (
        lambda f, s, c: _with(_checkout(f, s, c), "currency", 156),
        "currency",
    ),
    "checkout metadata is a list": (
        lambda f, s, c: _with(_checkout(f, s, c), "metadata", ["gi_1"]),
        "metadata",
    ),
    "checkout payment intent is a number": (
        lambda f, s, c: _with(_checkout(f, s, c), "payment_intent", 12345),
        "payment_intent",
    ),
    "checkout without an id": (
        lambda f, s, c: _with(_checkout(f, s, c), "id", _REMOVE),
        "id",
    ),
    "event time is text": (
        lambda f, s, c: _with(_checkout(f, s, c), "event.created", "yesterday"),
        "created",
    ),
    "invoice amount is text": (
        lambda f, s, c: _with(_invoice(), "amount_paid", "abc"),
        "amount_paid",
    ),
    "invoice parent is text": (lambda f, s, c: _with(_invoice(), "parent", "sub"), "parent"),
    "invoice subscription details metadata is text": (
        lambda f, s, c: _with(_invoice(), "parent.subscription_details.metadata", "gi_1"),
        "metadata",
    ),
    "refund without an amount": (
        lambda f, s, c: _with(_refund_event("refund.updated"), "amount", _REMOVE),
        "amount",
    ),
    "charge refund amount is text": (
        lambda f, s, c: _with(_refund_event("charge.refund.updated"), "amount", "10"),
        "amount",
    ),
    "refund list is not a list": (
        lambda f, s, c: _with(_charge_refunded(), "refunds.data", "none"),
        "refunds.data",
    ),
    "listed refund amount is text": (
        lambda f, s, c: _with(_charge_refunded(), "refunds.data.0.amount", "1000"),
        "refunds.data[0].amount",
    ),
    "dispute amount is null": (lambda f, s, c: _with(_dispute(), "amount", None), "amount"),
    "dispute fee is text": (
        lambda f, s, c: _with(_dispute(), "balance_transactions.0.fee", "1500"),
        "balance_transactions[0].fee",
    ),
    "subscription id is a number": (
        lambda f, s, c: support.event(
            "customer.subscription.deleted", support.fixture("subscription", id=123)
        ),
        "id",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_signed_event_of_the_wrong_shape_is_rejected_for_good_and_flagged(
    case: str,
    session: Session,
    campaign: Campaign,
    stripe_app: Flask,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    build, field = BAD[case]
    event = build(fake_stripe, session, campaign)

    response = support.post_event(stripe_client, event)

    # Acknowledged: Stripe delivering it again could never make it readable.
    assert response.status_code == 200
    state = books.state_of(event["id"])
    assert state.status == EventStatus.REJECTED
    assert field in state.note
    (flag,) = books.flags()
    assert flag.kind == "malformed_event"
    assert flag.event_pk == state.event_pk
    assert field in flag.summary
    assert books.entries(campaign) == []

    # Neither a redelivery nor the retry command handles it again.
    again = support.post_event(stripe_client, event)
    assert again.get_json() == {"received": True, "duplicate": True}
    with stripe_app.app_context():
        runner = make_runner(payments_config())
    assert retry_failed_events(session, runner) == 0
    assert books.state_of(event["id"]).status == EventStatus.REJECTED
    assert len(books.flags()) == 1


def test_a_rejected_event_is_shown_to_admins_with_what_was_wrong(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
) -> None:
    event = _with(_checkout(fake_stripe, session, campaign), "amount_total", "abc")
    support.post_event(stripe_client, event)
    log_in(stripe_client, make_admin(session))

    page = stripe_client.get("/admin/payments/flags").get_data(as_text=True)

    assert "Event Giving cannot read" in page
    assert event["id"] in page
    assert "amount_total" in page


def test_a_well_formed_event_with_brackets_inside_its_text_is_handled(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    """The depth cap counts nesting, not bracket characters inside strings."""
    event = _checkout(fake_stripe, session, campaign)
    event["data"]["object"]["metadata"]["note"] = '[{"\\"' * 200 + "}]" * 200

    assert support.post_event(stripe_client, event).status_code == 200
    assert books.state_of(event["id"]).status == EventStatus.HANDLED
    assert books.kinds(campaign) == ["donation", "processor_fee"]


def _nested(depth: int, opener: bytes, closer: bytes) -> bytes:
    return opener * depth + b"1" + closer * depth


@pytest.mark.parametrize(
    "payload",
    [
        _nested(100_000, b'{"a":', b"}"),
        _nested(100_000, b"[", b"]"),
        # An envelope that is an event, with something far too deep inside its object.
        b'{"id": "evt_deep", "object": "event", "type": "checkout.session.completed", '
        b'"data": {"object": {"metadata": ' + _nested(200, b"[", b"]") + b"}}}",
    ],
    ids=["objects", "arrays", "inside an event"],
)
def test_a_signed_body_nested_too_deep_is_refused_with_400_and_not_stored(
    payload: bytes, stripe_client: FlaskClient, books: Books
) -> None:
    response = stripe_client.post(
        "/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": support.sign(payload)},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid webhook"
    assert "nested" in response.get_json()["message"]
    assert books.events() == []


def test_a_signature_dated_too_far_in_the_future_is_refused(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    event = _checkout(fake_stripe, session, campaign)

    ahead = support.post_event(stripe_client, event, timestamp=int(time.time()) + 301)

    assert ahead.status_code == 400
    assert "future" in ahead.get_json()["message"]
    assert books.events() == []
    # A clock a little ahead of ours is fine, as a little behind is.
    skewed = support.post_event(stripe_client, event, timestamp=int(time.time()) + 60)
    assert skewed.status_code == 200
    assert books.kinds(campaign) == ["donation", "processor_fee"]
