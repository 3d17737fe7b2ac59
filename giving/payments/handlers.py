"""Webhook events → ledger entries, in two steps per event: gather, then apply.

*Gather* asks the provider for what the event does not carry (the charge's balance
transaction for the fee, an invoice's charge, a charge's refunds) with no database
transaction open. *Apply* then runs in one transaction holding the event's state row lock
(so concurrent deliveries of one event run it once) and records entries through
bookkeeping.py. An event about a charge Giving has not recorded yet (a refund or dispute that
overtook its payment) is *parked* under ``charge:<id>``; recording that charge returns the
parked events as follow-ups for the job runner to apply. A payment that does not match its
intent, or names no known intent, is flagged for an admin and not recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from giving.db import transaction
from giving.payments import bookkeeping as books
from giving.payments import reversals
from giving.payments.events import (
    lock_state,
    lock_states,
    parked_waiting_for,
    parked_waiting_for_any,
    set_state,
    write_states,
)
from giving.payments.gateway import (
    GatewayError,
    PaymentGateway,
    StripeDict,
    charge_facts,
    charge_of_invoice,
    charge_of_payment_intent,
)
from giving.payments.handling import (
    INTENT_METADATA_KEY,
    Applier,
    ApplyContext,
    AtHand,
    Gatherer,
    Outcome,
    moment,
    nothing,
    object_id,
)
from giving.payments.models import (
    Donation,
    DonationIntent,
    EventStatus,
    FlagKind,
    IntentStatus,
    PaymentFlag,
    StripeEvent,
)
from giving.payments.shapes import shape_problem

log = logging.getLogger(__name__)

RETRYABLE = frozenset(
    {EventStatus.RECEIVED.value, EventStatus.FAILED.value, EventStatus.PARKED.value}
)


def _intent(ctx: ApplyContext, public_id: Any) -> DonationIntent | None:
    if not isinstance(public_id, str) or not public_id:
        return None
    if public_id in ctx.at_hand.intents:
        return ctx.at_hand.intents[public_id]
    return ctx.session.scalar(_intents_locked([public_id]))


def _intents_locked(public_ids: Sequence[str]) -> sa.Select[DonationIntent]:
    """The intents, locked in id order (so two batches never deadlock), campaigns joined.

    The campaign comes joined, its organisers and their roles not at all: recording a
    payment needs only the campaign's public id and end date.
    """
    return (
        sa.select(DonationIntent)
        .where(DonationIntent.public_id.in_(public_ids))
        .options(joinedload(DonationIntent.campaign).lazyload("*"))
        .order_by(DonationIntent.id)
        .with_for_update(of=DonationIntent)
    )


def _checkout_intent_key(checkout: StripeDict) -> Any:
    return (checkout.get("metadata") or {}).get(INTENT_METADATA_KEY) or checkout.get(
        "client_reference_id"
    )


def _check_total(
    ctx: ApplyContext, intent: DonationIntent, amount: Any, currency: Any, what: str
) -> Outcome | None:
    """Flag a session or invoice whose total is not what the donor asked to give."""
    if currency is not None and str(currency).upper() != intent.currency:
        return ctx.flag(
            FlagKind.CURRENCY_MISMATCH,
            f"{what} is in {str(currency).upper()}, intent {intent.public_id} in {intent.currency}",
            intent=intent,
        )
    if amount is not None and int(amount) != intent.amount_minor:
        return ctx.flag(
            FlagKind.AMOUNT_MISMATCH,
            f"{what} is {amount} minor units, intent {intent.public_id} is {intent.amount_minor}",
            intent=intent,
        )
    return None


def _record(
    ctx: ApplyContext,
    intent: DonationIntent,
    charge: StripeDict,
    *,
    invoice_id: str | None = None,
) -> Outcome:
    """Plan the charge's entries; ``apply_events`` seals them with the transaction's others."""
    facts = charge_facts(charge)
    if not facts.paid:
        raise GatewayError(f"charge {facts.charge_id} has not succeeded yet")
    if facts.charge_id in ctx.planned:  # another event of this batch pays the same charge
        return Outcome(EventStatus.HANDLED, note="donation (already, same batch)")
    try:
        planned = books.plan_payment(
            ctx.session,
            intent=intent,
            charge=facts,
            occurred_at=moment(charge.get("created")),
            platform_fee_bps=ctx.platform_fee_bps,
            invoice_id=invoice_id,
            locked=ctx.at_hand.charges,
        )
    except books.PaymentMismatch as exc:
        return ctx.flag(exc.kind, exc.summary, intent=intent)
    if isinstance(planned, Donation):
        return Outcome(
            EventStatus.HANDLED,
            note=f"donation seq {planned.ledger_seq} (already)",
            follow_ups=parked_waiting_for(ctx.session, f"charge:{facts.charge_id}"),
        )
    ctx.planned[facts.charge_id] = planned
    _flag_if_after_end(ctx, intent, charge)
    return Outcome(EventStatus.HANDLED, planned_charge=facts.charge_id)


def _flag_if_after_end(ctx: ApplyContext, intent: DonationIntent, charge: StripeDict) -> None:
    """A payment completed after the campaign's end is recorded, and flagged for its host.

    Completed is when the provider reported it (the event), which for a delayed payment is
    later than its charge; only a payment recorded now is flagged, so a redelivery is not.
    """
    campaign = intent.campaign
    completed = moment(ctx.event.get("created") or charge.get("created"))
    if not campaign.has_ended(completed):
        return
    assert campaign.ends_on is not None
    ctx.add_flag(
        FlagKind.AFTER_END,
        f"gift {intent.public_id} of {intent.amount_minor} minor units {intent.currency} "
        f"was paid at {completed:%Y-%m-%d %H:%M} UTC, after campaign {campaign.public_id} "
        f"ended on {campaign.ends_on.isoformat()}; recorded, for the host to decide on",
        intent=intent,
    )


# --- Checkout Sessions ---------------------------------------------------------------------


def gather_checkout(gateway: PaymentGateway, event: StripeDict) -> StripeDict:
    session = event["data"]["object"]
    pi_id = object_id(session.get("payment_intent"))
    if session.get("mode") == "payment" and session.get("payment_status") == "paid" and pi_id:
        return {"charge": charge_of_payment_intent(gateway, pi_id)}
    return {}


def apply_checkout(ctx: ApplyContext, gathered: StripeDict) -> Outcome:
    checkout = ctx.obj
    intent = _intent(ctx, _checkout_intent_key(checkout))
    if intent is None:
        return ctx.flag(
            FlagKind.UNKNOWN_INTENT,
            f"checkout session {checkout.get('id')} names no known donation",
        )
    mismatch = _check_total(
        ctx,
        intent,
        checkout.get("amount_total"),
        checkout.get("currency"),
        f"checkout {checkout.get('id')}",
    )
    if mismatch is not None:
        return mismatch
    if checkout.get("mode") == "subscription":
        subscription = object_id(checkout.get("subscription"))
        if subscription and intent.subscription_id is None:
            intent.subscription_id = subscription
        if intent.status == IntentStatus.PENDING:
            intent.status = IntentStatus.PROCESSING.value
        return Outcome(
            EventStatus.HANDLED, note="monthly gift started; each month comes as invoice.paid"
        )
    status = checkout.get("payment_status")
    if status == "unpaid":
        if intent.status == IntentStatus.PENDING:
            intent.status = IntentStatus.PROCESSING.value
        return Outcome(EventStatus.HANDLED, note="waiting for a delayed payment")
    if status != "paid" or "charge" not in gathered:
        return Outcome(EventStatus.IGNORED, note=f"payment_status {status!r}")
    return _record(ctx, intent, gathered["charge"])


def apply_checkout_failed(ctx: ApplyContext, _gathered: StripeDict) -> Outcome:
    checkout = ctx.obj
    intent = _intent(ctx, (checkout.get("metadata") or {}).get(INTENT_METADATA_KEY))
    if intent is None:
        return Outcome(EventStatus.IGNORED, note="no known donation")
    if intent.status in (IntentStatus.PENDING, IntentStatus.PROCESSING):
        intent.status = IntentStatus.FAILED.value
    return Outcome(EventStatus.HANDLED, note=f"checkout {ctx.event['type'].rsplit('.', 1)[-1]}")


# --- Invoices (monthly gifts) ----------------------------------------------------------------


def _subscription_details(invoice: StripeDict) -> StripeDict:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return details if isinstance(details, dict) else {}


def gather_invoice(gateway: PaymentGateway, event: StripeDict) -> StripeDict:
    invoice = event["data"]["object"]
    if int(invoice.get("amount_paid") or 0) <= 0:
        return {}
    return {"charge": charge_of_invoice(gateway, str(invoice["id"]))}


def apply_invoice_paid(ctx: ApplyContext, gathered: StripeDict) -> Outcome:
    invoice = ctx.obj
    if "charge" not in gathered:
        return Outcome(EventStatus.IGNORED, note="nothing was paid")
    details = _subscription_details(invoice)
    subscription = object_id(details.get("subscription") or invoice.get("subscription"))
    intent = _intent(ctx, (details.get("metadata") or {}).get(INTENT_METADATA_KEY))
    if intent is None and subscription:
        intent = ctx.session.scalar(
            sa.select(DonationIntent)
            .where(DonationIntent.subscription_id == subscription)
            .with_for_update(of=DonationIntent)
        )
    if intent is None:
        return ctx.flag(
            FlagKind.UNKNOWN_INTENT, f"invoice {invoice.get('id')} names no known monthly gift"
        )
    mismatch = _check_total(
        ctx,
        intent,
        invoice.get("amount_paid"),
        invoice.get("currency"),
        f"invoice {invoice.get('id')}",
    )
    if mismatch is not None:
        return mismatch
    if subscription and intent.subscription_id is None:
        intent.subscription_id = subscription
    return _record(ctx, intent, gathered["charge"], invoice_id=str(invoice["id"]))


def apply_subscription_deleted(ctx: ApplyContext, _gathered: StripeDict) -> Outcome:
    subscription = ctx.obj
    intent = ctx.session.scalar(
        sa.select(DonationIntent).where(DonationIntent.subscription_id == subscription.get("id"))
    ) or _intent(ctx, (subscription.get("metadata") or {}).get(INTENT_METADATA_KEY))
    if intent is None:
        return Outcome(EventStatus.IGNORED, note="no known monthly gift")
    books.mark_cancelled(intent)
    return Outcome(EventStatus.HANDLED, note="monthly gift cancelled")


HANDLERS: dict[str, tuple[Gatherer, Applier]] = {
    "checkout.session.completed": (gather_checkout, apply_checkout),
    "checkout.session.async_payment_succeeded": (gather_checkout, apply_checkout),
    "checkout.session.async_payment_failed": (nothing, apply_checkout_failed),
    "checkout.session.expired": (nothing, apply_checkout_failed),
    "invoice.paid": (gather_invoice, apply_invoice_paid),
    "customer.subscription.deleted": (nothing, apply_subscription_deleted),
    "charge.refunded": (reversals.gather_charge_refunds, reversals.apply_refunds),
    "charge.refund.updated": (reversals.gather_one_refund, reversals.apply_refunds),
    "refund.updated": (reversals.gather_one_refund, reversals.apply_refunds),
    "charge.dispute.created": (nothing, reversals.apply_dispute),
    "charge.dispute.funds_withdrawn": (nothing, reversals.apply_dispute),
    "charge.dispute.closed": (nothing, reversals.apply_dispute),
}


@dataclass(frozen=True)
class EventWork:
    """A stored event with what its handler gathered from the provider, ready to apply."""

    event_pk: int
    event: StripeDict
    gathered: StripeDict


def records_payment(event: StripeDict) -> bool:
    """Whether the event's handler records a payment (what the batch sequencer batches)."""
    return event.get("type") in PAYMENT_TYPES


PAYMENT_TYPES = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded", "invoice.paid"}
)


def handle_stored_event(
    session: Session, gateway: PaymentGateway, *, event_pk: int, platform_fee_bps: int
) -> list[int]:
    """Handle one stored event (the job's body); returns parked events it unblocked.

    Commits its own transactions (it is what a job runs). A provider that cannot be reached
    leaves the event ``failed`` and re-raises, so the runner retries and Stripe's redelivery
    runs it again; nothing is recorded twice because every step is idempotent.
    """
    with transaction(session):
        row = session.get(StripeEvent, event_pk)
        if row is None:
            raise LookupError(f"no stored event {event_pk}")
        event: StripeDict = json.loads(row.payload)
        state = lock_state(session, event_pk)
        if state.status not in RETRYABLE:
            return []
        if event["type"] not in HANDLERS:
            set_state(state, EventStatus.IGNORED, note="event type not used by Giving")
            return []
    work = gather_event(session, gateway, event_pk, event)
    if work is None:
        return []
    return apply_singly(session, work, platform_fee_bps=platform_fee_bps)


def gather_event(
    session: Session, gateway: PaymentGateway, event_pk: int, event: StripeDict
) -> EventWork | None:
    """Ask the provider what the event needs, with no transaction or lock held.

    None for an event type Giving does not use (marked ignored) and for one whose fields
    its handler could never read (marked rejected and flagged, never retried). A provider
    error marks the event failed and re-raises.
    """
    handler = HANDLERS.get(event["type"])
    if handler is None:
        with transaction(session):
            state = lock_state(session, event_pk)
            if state.status in RETRYABLE:
                set_state(state, EventStatus.IGNORED, note="event type not used by Giving")
        return None
    problem = shape_problem(event)
    if problem is not None:
        _reject(session, event_pk, event, problem)
        return None
    try:
        gathered = handler[0](gateway, event)
    except (GatewayError, KeyError, TypeError, ValueError) as exc:
        _mark_failed(session, event_pk, exc)
        raise
    # The sandbox provider reads through this session; end that read before applying.
    session.commit()
    return EventWork(event_pk, event, gathered)


def apply_singly(session: Session, work: EventWork, *, platform_fee_bps: int) -> list[int]:
    """Apply one event in its own transaction; a failure marks it failed and re-raises."""
    try:
        outcomes = apply_events(session, [work], platform_fee_bps=platform_fee_bps)
    except Exception as exc:
        _mark_failed(session, work.event_pk, exc)
        raise
    outcome = outcomes.get(work.event_pk)
    return [] if outcome is None else [pk for pk in outcome.follow_ups if pk != work.event_pk]


def apply_events(
    session: Session, works: Sequence[EventWork], *, platform_fee_bps: int
) -> dict[int, Outcome]:
    """Apply ``works`` in one transaction and commit; return the outcome of each one applied.

    First, for the whole batch at once and without the ledger lock: the events' state rows
    are locked, and for the payments among them the intents (campaigns joined) and the
    charges locked and their donations looked up, one statement each, always in the same
    order (states by id, intents by id, charges by lock key) so two batches never deadlock.
    Then each event's handler runs against what is at hand: totals checked, entries
    drafted; parked events are found in one query, states and intents written. Last,
    every planned payment is sealed in one ``seal`` call (the ledger lock, taken last) and
    the donations written beside their entries. One commit covers the lot, so a crash
    anywhere leaves every event of the batch as it was (stored, unhandled) for a
    redelivery or retry to run again. Events already settled (a duplicate delivery) get
    no outcome. Any error rolls the whole batch back and raises.
    """
    outcomes: dict[int, Outcome] = {}
    with transaction(session):
        states = lock_states(session, [work.event_pk for work in works])
        pending = {
            work.event_pk: work
            for work in works
            if work.event_pk in states and states[work.event_pk].status in RETRYABLE
        }
        at_hand = _look_up_payments(session, list(pending.values()))
        planned: dict[str, books.PlannedPayment] = {}
        for work in pending.values():
            _, apply = HANDLERS[work.event["type"]]
            ctx = ApplyContext(
                session, work.event_pk, work.event, platform_fee_bps, planned, at_hand
            )
            outcomes[work.event_pk] = apply(ctx, work.gathered)
        # Still before the ledger lock: the charges are locked, so an event parking itself
        # for one of them has committed already or will find its donation.
        parked = parked_waiting_for_any(session, [f"charge:{charge}" for charge in planned])
        for outcome in outcomes.values():
            if outcome.planned_charge is not None:
                outcome.note = f"donation of charge {outcome.planned_charge} recorded"
                outcome.follow_ups = parked.get(f"charge:{outcome.planned_charge}", [])
        session.flush()  # the handlers' intents and flags
        write_states(
            session,
            {
                pk: (o.status, o.note, o.waiting_for, states[pk].attempts + 1)
                for pk, o in outcomes.items()
            },
        )
        books.complete_payments(session, list(planned.values()))
    return outcomes


def _look_up_payments(session: Session, works: Sequence[EventWork]) -> AtHand:
    """Lock and read what the batch's payment events will ask for, a statement per kind."""
    payments = [work for work in works if work.event["type"] in PAYMENT_TYPES]
    if not payments:
        return AtHand()
    keys: set[str] = set()
    charges: list[str] = []
    for work in payments:
        obj = work.event["data"]["object"]
        if work.event["type"] == "invoice.paid":
            key = (_subscription_details(obj).get("metadata") or {}).get(INTENT_METADATA_KEY)
        else:
            key = _checkout_intent_key(obj)
        if isinstance(key, str) and key:
            keys.add(key)
        charge = work.gathered.get("charge")
        if isinstance(charge, dict) and isinstance(charge.get("id"), str):
            charges.append(charge["id"])
    found = {intent.public_id: intent for intent in session.scalars(_intents_locked(sorted(keys)))}
    return AtHand(
        intents={key: found.get(key) for key in keys},
        charges=books.lock_charges(session, charges),
    )


def _mark_failed(session: Session, event_pk: int, exc: BaseException) -> None:
    log.warning("webhook event %s failed: %s", event_pk, exc)
    with transaction(session):
        state = lock_state(session, event_pk)
        if state.status in RETRYABLE:
            state.attempts += 1
            set_state(state, EventStatus.FAILED, note=f"{type(exc).__name__}: {exc}")


def _reject(session: Session, event_pk: int, event: StripeDict, problem: str) -> None:
    """Settle an event that can never be handled, and flag it so an admin sees it.

    Retrying would fail the same way every time (its fields are not what Stripe sends), so
    it is not marked failed: a redelivery and ``giving payments retry-events`` skip it.
    """
    log.warning("webhook event %s rejected: %s", event_pk, problem)
    with transaction(session):
        state = lock_state(session, event_pk)
        if state.status not in RETRYABLE:
            return
        state.attempts += 1
        set_state(state, EventStatus.REJECTED, note=problem)
        session.add(
            PaymentFlag(
                kind=FlagKind.MALFORMED_EVENT.value,
                event_pk=event_pk,
                summary=f"{event.get('type')} event cannot be read: {problem}"[:300],
                detail={"event_id": event.get("id"), "type": event.get("type"), "problem": problem},
            )
        )
