"""Events that take money back: refunds (full or partial) and card disputes.

Each is keyed to its charge. If Giving has not recorded that charge yet (the refund or
dispute overtook its payment) the event is parked under ``charge:<id>`` and applied when the
payment arrives. Amounts that would take back more than was given are flagged, not recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from giving.payments import bookkeeping as books
from giving.payments.gateway import PaymentGateway, StripeDict
from giving.payments.handling import ApplyContext, Outcome, moment, object_id, park
from giving.payments.models import EventStatus

# --- Refunds --------------------------------------------------------------------------------


def gather_charge_refunds(gateway: PaymentGateway, event: StripeDict) -> StripeDict:
    charge = event["data"]["object"]
    inline = charge.get("refunds")
    if isinstance(inline, dict) and not inline.get("has_more") and inline.get("data"):
        return {"refunds": list(inline["data"])}
    return {"refunds": gateway.list_refunds(str(charge["id"]))}


def gather_one_refund(_gateway: PaymentGateway, event: StripeDict) -> StripeDict:
    return {"refunds": [event["data"]["object"]]}


def apply_refunds(ctx: ApplyContext, gathered: StripeDict) -> Outcome:
    refunds: list[StripeDict] = gathered.get("refunds", [])
    charge_id = (
        object_id(ctx.obj.get("charge"))
        if ctx.obj.get("object") == "refund"
        else object_id(ctx.obj.get("id"))
    )
    if not charge_id:
        return Outcome(EventStatus.IGNORED, note="refund of no charge")
    books.lock_charge(ctx.session, charge_id)
    donation = books.donation_for_charge(ctx.session, charge_id)
    if donation is None:
        return park(charge_id)
    recorded, waiting = 0, 0
    for refund in sorted(refunds, key=lambda r: (int(r.get("created") or 0), str(r.get("id")))):
        if refund.get("status") != "succeeded":
            waiting += 1
            continue
        try:
            created = books.record_refund(
                ctx.session,
                donation=donation,
                refund_id=str(refund["id"]),
                amount_minor=int(refund["amount"]),
                currency=str(refund["currency"]).upper(),
                occurred_at=moment(refund.get("created")),
            )
        except books.PaymentMismatch as exc:
            return ctx.flag(exc.kind, exc.summary, intent=donation.intent)
        recorded += int(created)
    note = f"{recorded} refund(s) recorded" + (f", {waiting} not yet succeeded" if waiting else "")
    return Outcome(EventStatus.HANDLED, note=note)


# --- Disputes -------------------------------------------------------------------------------


def apply_dispute(ctx: ApplyContext, _gathered: StripeDict) -> Outcome:
    dispute = ctx.obj
    charge_id = object_id(dispute.get("charge"))
    if not charge_id:
        return Outcome(EventStatus.IGNORED, note="dispute of no charge")
    books.lock_charge(ctx.session, charge_id)
    donation = books.donation_for_charge(ctx.session, charge_id)
    if donation is None:
        return park(charge_id)
    status = str(dispute.get("status") or "")
    if status.startswith("warning_"):
        return Outcome(EventStatus.HANDLED, note=f"inquiry ({status}); no money moved")
    kind = ctx.event["type"]
    when = moment(ctx.event.get("created") or dispute.get("created"))
    try:
        entry = books.record_dispute(
            ctx.session,
            donation=donation,
            dispute_id=str(dispute["id"]),
            amount_minor=int(dispute["amount"]),
            currency=str(dispute["currency"]).upper(),
            occurred_at=moment(dispute.get("created")),
        )
    except books.PaymentMismatch as exc:
        return ctx.flag(exc.kind, exc.summary, intent=donation.intent)
    note = f"dispute seq {entry.seq}"
    if kind == "charge.dispute.closed" and status == "won":
        books.record_dispute_won(
            ctx.session,
            donation=donation,
            dispute=entry,
            dispute_id=str(dispute["id"]),
            occurred_at=when,
        )
        note += ", won"
    elif kind == "charge.dispute.closed":
        note += f", closed {status}"
    _record_dispute_fees(ctx, donation, dispute, when)
    return Outcome(EventStatus.HANDLED, note=note)


def _record_dispute_fees(
    ctx: ApplyContext, donation: Any, dispute: StripeDict, when: dt.datetime
) -> None:
    disputed = abs(int(dispute.get("amount") or 0))
    for txn in dispute.get("balance_transactions") or []:
        if not isinstance(txn, dict) or not int(txn.get("fee") or 0):
            continue
        fee = int(txn["fee"])
        if str(txn.get("currency", "")).upper() != donation.currency:
            settled = abs(int(txn.get("amount") or 0))
            if not settled or not disputed:
                continue
            fee = (fee * disputed * 2 + (settled if fee > 0 else -settled)) // (2 * settled)
        if (
            fee == 0
            or books.entry_by_ref(ctx.session, f"{txn['id']}:processor_fee")
            or books.entry_by_ref(ctx.session, f"{txn['id']}:reversal")
        ):
            continue
        books.record_dispute_fee(
            ctx.session,
            donation=donation,
            transaction_id=str(txn["id"]),
            fee_minor=fee,
            occurred_at=when,
            note=("dispute fee" if fee > 0 else "dispute fee returned") + f" ({txn['id']})",
        )
