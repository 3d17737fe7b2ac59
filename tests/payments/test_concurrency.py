"""Concurrent deliveries on PostgreSQL: Stripe may send one event many times at once.

These tests commit for real, in a scratch database of their own, and use one thread per
delivery, each with its own connection, as gunicorn workers would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from giving import create_app
from giving.campaigns.models import Campaign, CampaignState
from giving.config import load_settings
from giving.db import transaction
from giving.ledger.models import LedgerEntry
from giving.payments.models import Donation, StripeEvent
from tests.campaigns.factories import make_campaign
from tests.conftest import DatabaseFactory
from tests.payments import support
from tests.payments.conftest import make_intent
from tests.payments.fake_stripe import API_KEY, FakeStripe

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def committed_app(
    database_factory: DatabaseFactory, fake_stripe: FakeStripe, tmp_path: Path
) -> Iterator[Flask]:
    url = database_factory.fresh()
    settings = load_settings({"GIVING_INSTANCE": str(tmp_path), "DATABASE_URL": url})
    app = create_app(
        config={
            "TESTING": True,
            "STRIPE_SECRET_KEY": API_KEY,
            "STRIPE_API_BASE": fake_stripe.url,
            "STRIPE_MAX_RETRIES": 0,
        },
        settings=settings,
    )
    yield app
    app.extensions["giving.engine"].dispose()


def committed(app: Flask) -> Session:
    factory: sessionmaker[Session] = app.extensions["giving.sessionmaker"]
    return factory()


def deliver_at_once(app: Flask, events: list[dict[str, Any]]) -> list[int]:
    """POST each event from its own thread, all released at the same instant."""
    payloads = [support.encode(e) for e in events]
    barrier = threading.Barrier(len(payloads))
    statuses: list[int] = []
    lock = threading.Lock()

    def send(payload: bytes) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/webhooks/stripe", data=payload, headers={"Stripe-Signature": support.sign(payload)}
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def setup_gift(app: Flask, fake: FakeStripe) -> tuple[Campaign, str, str, str]:
    with committed(app) as session, transaction(session):
        campaign = make_campaign(session, state=CampaignState.LIVE)
        new = make_intent(session, campaign)
        intent_id = new.intent.public_id
    pi, charge_id = fake.add_paid_intent(amount=5000, currency="CNY", fee=175)
    return campaign, intent_id, pi, charge_id


def test_the_same_event_delivered_ten_times_at_once_records_once(
    committed_app: Flask, fake_stripe: FakeStripe
) -> None:
    campaign, intent_id, pi, _ = setup_gift(committed_app, fake_stripe)
    event = support.event(
        "checkout.session.completed",
        support.checkout_session(intent_id, amount=5000, currency="CNY", payment_intent=pi),
    )

    statuses = deliver_at_once(committed_app, [event] * 10)

    assert statuses == [200] * 10
    with committed(committed_app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(Donation)) == 1
        kinds = session.scalars(
            sa.select(LedgerEntry.kind)
            .where(LedgerEntry.campaign == campaign.public_id)
            .order_by(LedgerEntry.seq)
        ).all()
        assert kinds == ["donation", "processor_fee"]


@pytest.mark.parametrize("round_", range(4))
def test_a_payment_and_its_refund_racing_each_other_are_both_recorded_once(
    round_: int, committed_app: Flask, fake_stripe: FakeStripe
) -> None:
    campaign, intent_id, pi, charge_id = setup_gift(committed_app, fake_stripe)
    payment = support.event(
        "checkout.session.completed",
        support.checkout_session(intent_id, amount=5000, currency="CNY", payment_intent=pi),
    )
    refund_obj = support.charge(
        amount=5000,
        currency="CNY",
        payment_intent=pi,
        balance_txn="txn_x",
        refunds=[support.refund(charge_id, amount=2000, currency="CNY")],
    )
    refund_obj["id"] = charge_id
    refund = support.event("charge.refunded", refund_obj)
    events = [payment, refund] * 3 if round_ % 2 == 0 else [refund, payment] * 3

    statuses = deliver_at_once(committed_app, events)

    assert statuses == [200] * 6
    with committed(committed_app) as session:
        kinds = session.scalars(
            sa.select(LedgerEntry.kind)
            .where(LedgerEntry.campaign == campaign.public_id)
            .order_by(LedgerEntry.seq)
        ).all()
        assert sorted(kinds) == ["donation", "processor_fee", "refund"]
