"""Webhook handling on an RQ worker when REDIS_URL is set (needs a Redis server to talk to).

The web side only stores the event and enqueues a job; a real RQ ``SimpleWorker`` in burst
mode then runs ``run_event_job`` with a session and provider built from its environment,
the way a separate worker process would. Skipped when no Redis answers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy.orm import Session, sessionmaker

from giving import create_app
from giving.campaigns.models import CampaignState
from giving.config import load_settings
from giving.db import transaction
from giving.ledger.models import LedgerEntry
from giving.payments import jobs
from giving.payments.models import EventStatus, StripeEventState
from tests.campaigns.factories import make_campaign
from tests.conftest import DatabaseFactory
from tests.payments import support
from tests.payments.conftest import make_intent
from tests.payments.fake_stripe import API_KEY, FakeStripe

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_conn() -> Iterator[Redis]:
    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield conn
    conn.close()


@pytest.fixture
def queue(redis_conn: Redis) -> Iterator[Queue]:
    queue = Queue(f"giving-test-{uuid.uuid4().hex[:8]}", connection=redis_conn)
    yield queue
    queue.empty()
    queue.delete(delete_jobs=True)


@pytest.fixture
def rq_app(
    database_factory: DatabaseFactory,
    fake_stripe: FakeStripe,
    queue: Queue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Flask]:
    env = {
        "DATABASE_URL": database_factory.fresh(),
        "GIVING_INSTANCE": str(tmp_path),
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_API_BASE": fake_stripe.url,
        "REDIS_URL": REDIS_URL,
    }
    for name, value in env.items():  # what the worker process would have in its environment
        monkeypatch.setenv(name, value)
    jobs.worker_context.cache_clear()
    app = create_app(
        config={"TESTING": True, "PAYMENTS_QUEUE": queue.name}, settings=load_settings(env)
    )
    yield app
    app.extensions["giving.engine"].dispose()
    if jobs.worker_context.cache_info().currsize:
        jobs.worker_context().session_factory.kw["bind"].dispose()
    jobs.worker_context.cache_clear()


def sessions(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["giving.sessionmaker"]
    return factory


def test_with_redis_the_webhook_enqueues_and_an_rq_worker_records_the_gift(
    rq_app: Flask, queue: Queue, redis_conn: Redis, fake_stripe: FakeStripe
) -> None:
    with sessions(rq_app)() as session, transaction(session):
        campaign = make_campaign(session, state=CampaignState.LIVE)
        intent_id = make_intent(session, campaign).intent.public_id
    pi, charge_id = fake_stripe.add_paid_intent(amount=5000, currency="CNY", fee=175)
    refund_obj = support.charge(
        amount=5000,
        currency="CNY",
        payment_intent=pi,
        balance_txn="txn_x",
        refunds=[support.refund(charge_id, amount=5000, currency="CNY")],
    )
    refund_obj["id"] = charge_id
    client = rq_app.test_client()

    # The refund overtakes its payment; both are only queued by the web request.
    assert (
        support.post_event(client, support.event("charge.refunded", refund_obj)).status_code == 200
    )
    payment = support.event(
        "checkout.session.completed",
        support.checkout_session(intent_id, amount=5000, currency="CNY", payment_intent=pi),
    )
    assert support.post_event(client, payment).status_code == 200
    assert queue.count == 2
    with sessions(rq_app)() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 0

    SimpleWorker([queue], connection=redis_conn).work(burst=True)

    with sessions(rq_app)() as session:
        kinds = session.scalars(sa.select(LedgerEntry.kind).order_by(LedgerEntry.seq)).all()
        assert kinds == ["donation", "processor_fee", "refund"]
        statuses = session.scalars(sa.select(StripeEventState.status)).all()
        assert statuses == [EventStatus.HANDLED, EventStatus.HANDLED]
