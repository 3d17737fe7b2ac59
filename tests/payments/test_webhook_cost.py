"""What the webhook costs under load: a batch of gifts shares its statements, nothing throttles.

A batch of paid checkouts is applied with a statement per kind of lookup and write (states,
intents, charges, donations, the seal), so applying five costs the database what applying
one does; a lookup per event creeping back into ``apply_events`` fails here. The endpoint
is exempt from rate limits (Stripe sends every gift from a few addresses) and still refuses
every forged delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign
from giving.db import transaction
from giving.payments import runtime
from giving.payments.events import store_event
from giving.payments.handlers import EventWork, apply_events, gather_event
from giving.payments.models import Donation
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import API_KEY, FakeStripe, paid_checkout

SKIP = ("SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "BEGIN")


def _gathered(
    app: Flask, session: Session, campaign: Campaign, fake: FakeStripe, count: int
) -> list[EventWork]:
    """``count`` paid checkouts stored and gathered, ready to apply as one batch."""
    works = []
    for _ in range(count):
        new = make_intent(session, campaign, amount=5000)
        session.commit()
        event, _ = paid_checkout(fake, new.intent.public_id, fee=175)
        payload = support.encode(event)
        with transaction(session):
            stored = store_event(session, event, payload)
        with app.app_context():
            work = gather_event(session, runtime.gateway(session), stored.event_pk, event)
        assert work is not None
        works.append(work)
    return works


def _statements_applying(
    connection: sa.Connection, session: Session, works: list[EventWork]
) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(SKIP):
            seen.append(statement)

    sa.event.listen(connection, "before_cursor_execute", count)
    try:
        outcomes = apply_events(session, works, platform_fee_bps=150)
    finally:
        sa.event.remove(connection, "before_cursor_execute", count)
    assert len(outcomes) == len(works)
    return seen


def test_five_gifts_applied_in_one_batch_cost_the_statements_of_one(
    session: Session,
    connection: sa.Connection,
    campaign: Campaign,
    stripe_app: Flask,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    # A first gift opens the campaign's figures and the tree; later ones find them.
    _statements_applying(
        connection, session, _gathered(stripe_app, session, campaign, fake_stripe, 1)
    )
    alone = _statements_applying(
        connection, session, _gathered(stripe_app, session, campaign, fake_stripe, 1)
    )
    batch = _statements_applying(
        connection, session, _gathered(stripe_app, session, campaign, fake_stripe, 5)
    )

    assert len(batch) == len(alone), "\n".join(batch)
    # States, intents, charges (their lock and donations), parked lookup, intent and state
    # writes; the seal and its figures; the donations. SQLite takes no advisory locks (it
    # has one writer), so two fewer.
    assert len(alone) <= (22 if connection.dialect.name == "postgresql" else 20), "\n".join(alone)
    assert session.scalar(sa.select(sa.func.count()).select_from(Donation)) == 7
    assert books.kinds(campaign) == ["donation", "processor_fee", "platform_fee"] * 7


def test_a_burst_of_deliveries_is_never_rate_limited_and_forged_ones_are_all_refused(
    make_app: Callable[..., Flask],
    fake_stripe: FakeStripe,
    session: Session,
    campaign: Campaign,
    books: Books,
) -> None:
    app = make_app(
        STRIPE_SECRET_KEY=API_KEY,
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_MAX_RETRIES=0,
        PAYMENTS_JOBS="inline",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_DEFAULT="3 per minute",  # every other page would answer 429 by now
    )
    client = app.test_client()
    events = []
    for _ in range(6):
        new = make_intent(session, campaign, amount=5000)
        session.commit()
        events.append(paid_checkout(fake_stripe, new.intent.public_id, fee=175)[0])

    forged = [
        support.post_event(client, event, secret="whsec_not_ours").status_code for event in events
    ]
    genuine = [support.post_event(client, event).status_code for event in events]

    assert forged == [400] * 6
    assert genuine == [200] * 6
    assert books.kinds(campaign) == ["donation", "processor_fee"] * 6
    # The default limit is on: a page answers 429 after three requests.
    assert [client.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]
