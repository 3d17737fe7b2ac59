"""Storing accepted webhook events once, and tracking how far handling each one got.

Stripe retries for days and may deliver an event several times, even at the same moment.
The raw event is inserted once under the UNIQUE event id; a concurrent duplicate waits for
the first insert, inserts nothing (ON CONFLICT DO NOTHING), and reads the stored row
instead. Handling is asked for again only while the event is not yet settled (new or
failed), so a redelivery is also how a failed event gets retried.
"""

from __future__ import annotations

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

    A redelivery is recognised by one indexed read of the event and its state (trying the
    INSERT first made it a writing transaction: PostgreSQL assigns a transaction id even
    to an INSERT that meets its conflict, so the commit waits for a WAL flush). A new
    event is then one INSERT, which on PostgreSQL writes the state row in the same
    statement. A concurrent duplicate that passed the read meets ``ON CONFLICT DO
    NOTHING``: it waits for the first insert's commit, inserts nothing and reads the
    stored row, with no savepoint to set up for it.
    """
    event_id = str(event["id"])
    values = {
        "event_id": event_id,
        "type": str(event["type"])[:100],
        "livemode": bool(event.get("livemode", False)),
        "payload": payload.decode("utf-8"),
        "received_at": utcnow(),
    }
    found = session.execute(_FIND, {"event_id": event_id}).first()
    if found is not None:
        return _duplicate(found)
    if session.get_bind().dialect.name == "postgresql":
        event_pk = session.execute(_STORE_WITH_STATE, values).scalar()
    else:  # SQLite has no INSERT inside WITH: two statements
        event_pk = session.execute(_STORE_SQLITE, values).scalar()
        if event_pk is not None:
            session.execute(_STATE_SQLITE, {"event_pk": event_pk, "updated_at": utcnow()})
    if event_pk is not None:
        return StoredEvent(event_pk=int(event_pk), duplicate=False, needs_handling=True)
    found = session.execute(_FIND, {"event_id": event_id}).first()
    if found is None:  # pragma: no cover - the conflict names this row
        raise LookupError(f"event {event_id} conflicted but is not stored")
    return _duplicate(found)


def _duplicate(found: sa.Row[Any, Any]) -> StoredEvent:
    status = found.status if found.status is not None else EventStatus.RECEIVED.value
    return StoredEvent(event_pk=int(found.id), duplicate=True, needs_handling=status in RETRYABLE)


_EVENTS = cast(sa.Table, StripeEvent.__table__)
_STATES = cast(sa.Table, StripeEventState.__table__)


def _store_statements() -> tuple[Any, Any, Any]:
    """The store's statements, built once (building them per event cost as much as running)."""
    columns = ("event_id", "type", "livemode", "payload", "received_at")
    params: dict[str, Any] = {name: sa.bindparam(name) for name in columns}
    stored = (
        postgresql.insert(_EVENTS)
        .values(params)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(_EVENTS.c.id)
        .cte("stored")
    )
    received = sa.literal(EventStatus.RECEIVED.value, _STATES.c.status.type)
    with_state = (
        sa.insert(_STATES)
        .from_select(
            ["event_pk", "status", "attempts", "updated_at"],
            sa.select(
                stored.c.id,
                received,
                sa.literal(0, _STATES.c.attempts.type),
                sa.bindparam("received_at", type_=_STATES.c.updated_at.type),
            ),
        )
        .returning(_STATES.c.event_pk)
        .add_cte(stored)
    )
    plain = (
        sqlite.insert(_EVENTS)
        .values(params)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(_EVENTS.c.id)
    )
    state = sa.insert(_STATES).values(
        event_pk=sa.bindparam("event_pk"),
        status=EventStatus.RECEIVED.value,
        attempts=0,
        updated_at=sa.bindparam("updated_at"),
    )
    return with_state, plain, state


_STORE_WITH_STATE, _STORE_SQLITE, _STATE_SQLITE = _store_statements()
_FIND = (
    sa.select(_EVENTS.c.id, _STATES.c.status)
    .select_from(_EVENTS.outerjoin(_STATES, _STATES.c.event_pk == _EVENTS.c.id))
    .where(_EVENTS.c.event_id == sa.bindparam("event_id"))
)


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


@dataclass(frozen=True)
class LockedState:
    """An event's state row as a batch reads it under its lock (plain values, no ORM row)."""

    status: str
    attempts: int


def lock_states(session: Session, event_pks: Sequence[int]) -> dict[int, LockedState]:
    """``lock_state`` for many events in one statement, locked in id order (no deadlock).

    Core rows rather than ORM objects: a batch writes the states back with one
    ``write_states`` executemany, without the unit of work's per-object bookkeeping.
    """
    if not event_pks:
        return {}
    rows = session.execute(_LOCK_STATES, {"pks": sorted(set(event_pks))})
    states = {int(pk): LockedState(str(status), int(attempts)) for pk, status, attempts in rows}
    missing = set(event_pks) - states.keys()
    if missing:
        raise LookupError(f"no stored events {sorted(missing)}")
    return states


def write_states(
    session: Session, changes: dict[int, tuple[EventStatus, str | None, str | None, int]]
) -> None:
    """Store each event's (status, note, waiting_for, attempts) in one executemany.

    ORM copies of these rows in the session are expired, so nothing reads a stale one.
    """
    if not changes:
        return
    now = utcnow()
    session.execute(
        _WRITE_STATE,
        [
            {
                "pk": pk,
                "status": status.value,
                "note": note[:2000] if note else None,
                "waiting_for": waiting_for,
                "attempts": attempts,
                "updated_at": now,
            }
            for pk, (status, note, waiting_for, attempts) in changes.items()
        ],
    )
    for pk in changes:
        stale = session.identity_map.get(session.identity_key(StripeEventState, pk))
        if stale is not None:
            session.expire(stale)


_LOCK_STATES = (
    sa.select(_STATES.c.event_pk, _STATES.c.status, _STATES.c.attempts)
    .where(_STATES.c.event_pk.in_(sa.bindparam("pks", expanding=True)))
    .order_by(_STATES.c.event_pk)
    .with_for_update()
)
_WRITE_STATE = (
    sa.update(_STATES)
    .where(_STATES.c.event_pk == sa.bindparam("pk"))
    .values(
        status=sa.bindparam("status"),
        note=sa.bindparam("note"),
        waiting_for=sa.bindparam("waiting_for"),
        attempts=sa.bindparam("attempts"),
        updated_at=sa.bindparam("updated_at"),
    )
)


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
    found: dict[str, list[int]] = {}
    for key, pk in session.execute(_PARKED_FOR_ANY, {"keys": list(keys)}):
        found.setdefault(str(key), []).append(int(pk))
    return found


# Built once: every batch of payments runs it, and building it cost more than running it.
_PARKED_FOR_ANY = (
    sa.select(_STATES.c.waiting_for, _STATES.c.event_pk)
    .where(
        _STATES.c.status == EventStatus.PARKED.value,
        _STATES.c.waiting_for.in_(sa.bindparam("keys", expanding=True)),
    )
    .order_by(_STATES.c.event_pk)
)


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
