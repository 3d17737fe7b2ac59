"""The shared shape of webhook handling: an event's context, outcomes and small readers.

Handlers (handlers.py for payments, reversals.py for refunds and disputes) each get an
``ApplyContext`` inside the transaction that holds the event's lock and return an
``Outcome``; the job runner stores the outcome on the event's state row. A payment is only
*planned* by its handler; the transaction seals all planned payments at its end.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from giving.db import utcnow
from giving.payments.bookkeeping import LockedCharges, PlannedPayment
from giving.payments.gateway import PaymentGateway, StripeDict
from giving.payments.models import DonationIntent, EventStatus, FlagKind, PaymentFlag

log = logging.getLogger(__name__)

INTENT_METADATA_KEY = "giving_intent"


@dataclass
class Outcome:
    status: EventStatus
    note: str | None = None
    waiting_for: str | None = None
    follow_ups: list[int] = field(default_factory=list)
    # The charge whose payment this event planned; set when its entries await sealing.
    planned_charge: str | None = None


@dataclass(frozen=True)
class AtHand:
    """What a batch's payments look up, read and locked for all of them before any is applied.

    One query per kind instead of one per event (handlers.apply_events); a handler asking
    for something not here looks it up itself, as it would alone.
    """

    intents: dict[str, DonationIntent | None] = field(default_factory=dict)
    charges: LockedCharges = field(default_factory=lambda: LockedCharges({}))


@dataclass(frozen=True)
class ApplyContext:
    session: Session
    event_pk: int
    event: StripeDict
    platform_fee_bps: int
    # Payments planned by the events of this transaction, by charge id: sealed together
    # after every event is applied, so the ledger lock comes last (handlers.apply_events).
    planned: dict[str, PlannedPayment] = field(default_factory=dict)
    at_hand: AtHand = field(default_factory=AtHand)

    @property
    def obj(self) -> StripeDict:
        data: StripeDict = self.event["data"]["object"]
        return data

    def flag(self, kind: str, summary: str, *, intent: DonationIntent | None = None) -> Outcome:
        """Flag the event instead of applying it."""
        self.add_flag(kind, summary, intent=intent)
        return Outcome(EventStatus.FLAGGED, note=summary)

    def add_flag(self, kind: str, summary: str, *, intent: DonationIntent | None = None) -> None:
        """Flag something about an event that is applied all the same (e.g. a late payment)."""
        self.session.add(
            PaymentFlag(
                kind=FlagKind(kind).value,
                event_pk=self.event_pk,
                intent_id=intent.id if intent is not None else None,
                summary=summary[:300],
                detail={"event_id": self.event.get("id"), "type": self.event.get("type")},
            )
        )
        log.warning("payment flagged (%s): %s", kind, summary)


Gatherer = Callable[[PaymentGateway, StripeDict], StripeDict]
Applier = Callable[[ApplyContext, StripeDict], Outcome]


def nothing(_gateway: PaymentGateway, _event: StripeDict) -> StripeDict:
    return {}


def object_id(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value["id"]) if value.get("id") else None
    return str(value) if value else None


def moment(unix: Any) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(unix), dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


def park(charge_id: str) -> Outcome:
    """Wait for the payment of ``charge_id``; recording it brings this event back."""
    return Outcome(
        EventStatus.PARKED,
        note=f"waiting for the payment of charge {charge_id}",
        waiting_for=f"charge:{charge_id}",
    )
