"""Storing accepted webhook events once, and tracking how far handling each one got.

Stripe retries for days and may deliver an event several times, even at the same moment.
The raw event is inserted once under the UNIQUE event id; a concurrent duplicate waits for
the first insert, inserts nothing (ON CONFLICT DO NOTHING), and reads the stored row
instead. Handling is asked for again only while the event is not yet settled (new or
failed), so a redelivery is also how a failed event gets retried.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from giving.db import transaction, utcnow
from giving.payments.models import EventStatus, StripeEvent, StripeEventState
from giving.payments.signing import verify_event

RETRYABLE = frozenset({EventStatus.RECEIVED.value, EventStatus.FAILED.value})


@dataclass(frozen=True)
class StoredEvent:
    event_pk: int
    duplicate: bool
    needs_handling: bool


def store_event(session: Session, event: dict[str, Any], payload: bytes) -> StoredEvent:
    """Insert the raw event unless its id is known; say whether it still needs handling.

    A redelivery is recognised by one indexed read (trying the INSERT first made it a
    writing transaction, twice as slow). A concurrent duplicate that passed that read
    meets ``INSERT ... ON CONFLICT DO NOTHING``: it waits for the first insert's commit,
    inserts nothing and reads the stored row, with no savepoint to set up for it.
    """
    event_id = str(event["id"])
    found = _find(session, event_id)
    if found is not None:
        return _duplicate(session, found)
    insert = _insert_ignoring_duplicates(session).values(
        event_id=event_id,
        type=str(event["type"])[:100],
        livemode=bool(event.get("livemode", False)),
        payload=payload.decode("utf-8"),
        received_at=utcnow(),
    )
    event_pk = session.scalar(insert.returning(_EVENTS.c.id))
    if event_pk is None:
        existing = _find(session, event_id)
        if existing is None:  # pragma: no cover - the conflict names this row
            raise LookupError(f"event {event_id} conflicted but is not stored")
        return _duplicate(session, existing)
    session.execute(
        sa.insert(_STATES),
        {"event_pk": event_pk, "status": EventStatus.RECEIVED.value, "attempts": 0},
    )
    return StoredEvent(event_pk=int(event_pk), duplicate=False, needs_handling=True)


_EVENTS = cast(sa.Table, StripeEvent.__table__)
_STATES = cast(sa.Table, StripeEventState.__table__)


def _insert_ignoring_duplicates(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(_EVENTS).on_conflict_do_nothing(index_elements=["event_id"])
    return sqlite.insert(_EVENTS).on_conflict_do_nothing(index_elements=["event_id"])


def _find(session: Session, event_id: str) -> StripeEvent | None:
    return session.scalar(sa.select(StripeEvent).where(StripeEvent.event_id == event_id))


def _duplicate(session: Session, row: StripeEvent) -> StoredEvent:
    state = session.get(StripeEventState, row.id)
    status = state.status if state is not None else EventStatus.RECEIVED.value
    return StoredEvent(event_pk=row.id, duplicate=True, needs_handling=status in RETRYABLE)


def load_event(session: Session, event_pk: int) -> tuple[dict[str, Any], StripeEventState]:
    row = session.get(StripeEvent, event_pk)
    if row is None:
        raise LookupError(f"no stored event {event_pk}")
    state = session.get(StripeEventState, event_pk)
    assert state is not None
    return json.loads(row.payload), state


def lock_state(session: Session, event_pk: int) -> StripeEventState:
    """The event's state row, locked until commit so one worker handles it at a time."""
    state = session.scalar(
        sa.select(StripeEventState)
        .where(StripeEventState.event_pk == event_pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if state is None:
        raise LookupError(f"no stored event {event_pk}")
    return state


def set_state(
    state: StripeEventState,
    status: EventStatus,
    *,
    note: str | None = None,
    waiting_for: str | None = None,
) -> None:
    state.status = status.value
    state.note = note[:2000] if note else None
    state.waiting_for = waiting_for
    state.updated_at = utcnow()


def parked_waiting_for(session: Session, key: str) -> list[int]:
    """Events parked until ``key`` (e.g. ``charge:ch_…``) exists, oldest first."""
    stmt = (
        sa.select(StripeEventState.event_pk)
        .where(
            StripeEventState.status == EventStatus.PARKED.value,
            StripeEventState.waiting_for == key,
        )
        .order_by(StripeEventState.event_pk)
    )
    return list(session.scalars(stmt))


def parked_waiting_for_any(session: Session, keys: Sequence[str]) -> dict[str, list[int]]:
    """``parked_waiting_for`` for many keys in one query (a batch's charges)."""
    if not keys:
        return {}
    rows = session.execute(
        sa.select(StripeEventState.waiting_for, StripeEventState.event_pk)
        .where(
            StripeEventState.status == EventStatus.PARKED.value,
            StripeEventState.waiting_for.in_(keys),
        )
        .order_by(StripeEventState.event_pk)
    )
    found: dict[str, list[int]] = {}
    for key, pk in rows:
        found.setdefault(str(key), []).append(int(pk))
    return found


class EventRunner(Protocol):
    """Runs the handling of a stored event: inline, or as a job on a queue (jobs.py)."""

    def submit(
        self, session: Session, event_pk: int, event: dict[str, Any] | None = None
    ) -> None: ...


def accept_webhook(
    session: Session, runner: EventRunner, payload: bytes, header: str | None, secret: str
) -> StoredEvent:
    """Everything ``POST /webhooks/stripe`` does, also called in-process by the sandbox.

    Raises ``InvalidWebhook`` (nothing stored) for a missing, wrong, stale or future-dated
    signature or a body that is not an event (or nests too deep to parse); otherwise stores
    the event once, commits, and hands it to the runner unless it was already settled.
    """
    event = verify_event(payload, header, secret)
    with transaction(session):
        stored = store_event(session, event, payload)
    if stored.needs_handling:
        # The parsed event travels on, so handling need not read it back.
        runner.submit(session, stored.event_pk, event if not stored.duplicate else None)
    return stored
