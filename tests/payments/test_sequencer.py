"""The payment sequencer: concurrent webhooks share one ledger lock, still exactly once.

The first test counts what one new paid checkout costs the database (statements, and on
PostgreSQL those run while the ledger lock is held), so a repeated lookup creeping back in
fails here. The others commit for real in a scratch PostgreSQL database, as gunicorn
workers would: many deliveries at once, and a batch whose connection dies between sealing
and committing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign
from giving.db import transaction
from giving.ledger.models import LedgerEntry
from giving.ledger.sealing import LEDGER_LOCK_KEY
from giving.ledger.verify import verify_ledger
from giving.payments import runtime
from giving.payments.jobs import InlineRunner, retry_failed_events
from giving.payments.models import Donation, EventStatus, StripeEventState
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import FakeStripe, paid_checkout
from tests.payments.test_concurrency import committed, committed_app, deliver_at_once, setup_gift

__all__ = ["committed_app"]  # the fixture, shared with test_concurrency

SKIP = ("SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "BEGIN")


def test_one_new_paid_checkout_costs_a_bounded_number_of_statements(
    session: Session,
    connection: sa.Connection,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=5000)
    session.commit()
    event, _ = paid_checkout(fake_stripe, new.intent.public_id, fee=175)
    seen: list[str] = []
    locked_at: list[int] = []

    def count(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "pg_advisory_xact_lock" in statement and LEDGER_LOCK_KEY in _values(params):
            locked_at.append(len(seen))
        if not statement.lstrip().upper().startswith(SKIP):
            seen.append(statement)

    sa.event.listen(connection, "before_cursor_execute", count)
    try:
        response = support.post_event(stripe_client, event)
    finally:
        sa.event.remove(connection, "before_cursor_execute", count)

    assert response.status_code == 200
    assert books.kinds(campaign) == ["donation", "processor_fee"]
    # Store (the read that recognises a redelivery, then one INSERT that writes the state
    # row too on PostgreSQL: 2; 3 on SQLite); state,
    # intent (campaign joined), charge lock, donation check, parked lookup, intent and state
    # writes (7, a statement per kind for a whole batch); seal: ledger lock, two prefetches,
    # head, three inserts (7); the derived figures the sequencer keeps beside them (campaign
    # totals and counts read and written, the donor added unless seen, the gift's FIFO row:
    # up to 6); the donation (1). It was 25 before the store's INSERT wrote the state row
    # too, 27 (SQLite) and 30 (PostgreSQL) before batching, without figures.
    assert len(seen) <= 23, "\n".join(seen)
    if connection.dialect.name == "postgresql":
        (lock,) = locked_at
        # Under the ledger lock only the lock, sealing's reads and writes and the donation
        # row, and the figures; every other lookup and write (the campaign's existence
        # too) came before it (it was 17 statements, without figures; 16 with).
        assert len(seen) - lock <= 13, "\n".join(seen[lock:])


def _values(params: Any) -> list[Any]:
    if isinstance(params, dict):
        return list(params.values())
    if isinstance(params, list | tuple):
        return [v for p in params for v in (_values(p) if isinstance(p, dict) else [p])]
    return []


# --- committed, concurrent (PostgreSQL) ---------------------------------------------------


def _gifts(app: Flask, fake: FakeStripe, count: int) -> tuple[Campaign, list[dict[str, Any]]]:
    campaign, intent_id, pi, _ = setup_gift(app, fake)
    events = [
        support.event(
            "checkout.session.completed",
            support.checkout_session(intent_id, amount=5000, currency="CNY", payment_intent=pi),
        )
    ]
    with committed(app) as session, transaction(session):
        fresh = session.get(Campaign, campaign.id)
        assert fresh is not None
        intents = [make_intent(session, fresh).intent.public_id for _ in range(count - 1)]
    for intent in intents:
        pi, _ = fake.add_paid_intent(amount=5000, currency="CNY", fee=175)
        events.append(
            support.event(
                "checkout.session.completed",
                support.checkout_session(intent, amount=5000, currency="CNY", payment_intent=pi),
            )
        )
    return campaign, events


def _books(app: Flask, campaign: Campaign) -> tuple[int, list[str]]:
    with committed(app) as session:
        donations = session.scalar(sa.select(sa.func.count()).select_from(Donation)) or 0
        kinds = list(
            session.scalars(
                sa.select(LedgerEntry.kind).where(LedgerEntry.campaign == campaign.public_id)
            )
        )
        verify_ledger(session, None)
    return donations, sorted(kinds)


@pytest.mark.postgres_only
def test_many_gifts_each_delivered_three_times_at_once_record_once_in_shared_batches(
    committed_app: Flask, fake_stripe: FakeStripe
) -> None:
    campaign, events = _gifts(committed_app, fake_stripe, 12)

    statuses = deliver_at_once(committed_app, events * 3)

    assert statuses == [200] * 36
    donations, kinds = _books(committed_app, campaign)
    assert donations == 12
    assert kinds == ["donation"] * 12 + ["processor_fee"] * 12
    with committed_app.app_context():
        sequencer = runtime.sequencer()
    assert sequencer is not None
    assert sequencer.events >= 12  # every new event went through the sequencer


@pytest.fixture
def dying_batches(committed_app: Flask) -> Iterator[list[int]]:
    """While armed, the connection writing donations is killed, as if the database restarted.

    Entries are sealed (inserted) by then, uncommitted; the kill loses the whole batch.
    """
    engine: sa.Engine = committed_app.extensions["giving.engine"]
    admin = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT")
    armed = [1]
    kills: list[int] = []
    guard = threading.Lock()

    def kill(conn: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if not armed[0] or not statement.startswith("INSERT INTO donations"):
            return
        pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        with guard, admin.connect() as other:
            other.execute(sa.select(sa.func.pg_terminate_backend(pid)))
            kills.append(pid)

    sa.event.listen(engine, "before_cursor_execute", kill)
    yield armed
    sa.event.remove(engine, "before_cursor_execute", kill)
    assert kills, "no batch was killed"
    admin.dispose()


@pytest.mark.postgres_only
def test_a_batch_killed_between_sealing_and_commit_leaves_nothing_and_is_recorded_later(
    committed_app: Flask, fake_stripe: FakeStripe, dying_batches: list[int]
) -> None:
    campaign, events = _gifts(committed_app, fake_stripe, 6)

    statuses = deliver_at_once(committed_app, events)

    # Every batch and every one-by-one retry died: Stripe is told to deliver again...
    assert statuses == [500] * 6
    # ...and no entry was left without its donation, nor a donation without its entries.
    assert _books(committed_app, campaign) == (0, [])
    with committed(committed_app) as session:
        assert set(session.scalars(sa.select(StripeEventState.status))) <= {
            EventStatus.FAILED.value,
            EventStatus.RECEIVED.value,
        }

    dying_batches[0] = 0  # the database is back
    with committed_app.app_context(), committed(committed_app) as session:
        runner = runtime.runner()
        assert isinstance(runner, InlineRunner)
        assert retry_failed_events(session, runner) == 6
    again = deliver_at_once(committed_app, events)

    assert again == [200] * 6
    donations, kinds = _books(committed_app, campaign)
    assert donations == 6
    assert kinds == ["donation"] * 6 + ["processor_fee"] * 6
