"""The offline payment provider: a tiny local Stripe that makes Stripe-shaped objects and events.

``SandboxGateway`` answers the same API calls as ``StripeGateway`` from ``sandbox_objects``.
When a donor presses pay, fail or pay later on the sandbox checkout page, the functions here
change those objects the way Stripe would and return the events Stripe would send
(``checkout.session.completed``, ``invoice.paid``, ``charge.refunded``...). ``deliver`` signs
each event with the webhook secret and hands it to ``events.accept_webhook``, the very
function behind ``POST /webhooks/stripe``, so the demo exercises the real path.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased
from stripe._api_version import _ApiVersion

from giving.payments.config import Provider
from giving.payments.gateway import GatewayError, StripeDict
from giving.payments.models import SandboxObject
from giving.payments.signing import sign_payload

CHECKOUT_PATH = "/sandbox/checkout/{id}"
_READ = sa.select(SandboxObject.data).where(SandboxObject.id == sa.bindparam("id"))


def _read_expanded() -> sa.Select[tuple[Any, Any, Any]]:
    intent, charge, txn = (aliased(SandboxObject) for _ in range(3))
    return (
        sa.select(intent.data, charge.data, txn.data)
        .select_from(intent)
        .outerjoin(charge, charge.id == intent.data["latest_charge"].as_string())
        .outerjoin(txn, txn.id == charge.data["balance_transaction"].as_string())
        .where(intent.id == sa.bindparam("id"))
    )


_READ_EXPANDED = _read_expanded()


def new_id(prefix: str) -> str:
    return f"{prefix}_sbx_{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


class SandboxGateway:
    """``PaymentGateway`` over the sandbox's own objects, in the caller's session."""

    provider: Provider = "sandbox"

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- storage --
    def get(self, object_id: str) -> StripeDict:
        # A Core read: the webhook reads three objects per payment, and loading them as ORM
        # rows cost more than the reads themselves. ``put`` flushes, so this sees its writes.
        data = self.session.execute(_READ, {"id": object_id}).scalar()
        if data is None:
            raise GatewayError(f"No such sandbox object: {object_id}")
        return dict(data)

    def put(self, data: StripeDict) -> StripeDict:
        row = self.session.get(SandboxObject, data["id"])
        if row is None:
            self.session.add(SandboxObject(id=data["id"], object=data["object"], data=data))
        else:
            row.data = json.loads(json.dumps(data))  # a new value, so the change is saved
        self.session.flush()
        return data

    # -- PaymentGateway --
    def create_checkout_session(self, params: StripeDict, *, idempotency_key: str) -> StripeDict:
        key_id = "ik_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
        known = self.session.get(SandboxObject, key_id)
        if known is not None:
            return self.get(known.data["session"])
        line = params["line_items"][0]["price_data"]
        checkout_id = new_id("cs")
        checkout: StripeDict = {
            "id": checkout_id,
            "object": "checkout.session",
            "amount_subtotal": line["unit_amount"],
            "amount_total": line["unit_amount"],
            "cancel_url": params["cancel_url"],
            "client_reference_id": params.get("client_reference_id"),
            "created": now(),
            "currency": line["currency"],
            "customer_email": params.get("customer_email"),
            "expires_at": int(params.get("expires_at") or now() + 24 * 3600),
            "invoice": None,
            "livemode": False,
            "metadata": dict(params.get("metadata") or {}),
            "mode": params["mode"],
            "payment_intent": None,
            "payment_method_options": params.get("payment_method_options") or {},
            "payment_method_types": list(params["payment_method_types"]),
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": params["success_url"],
            "url": CHECKOUT_PATH.format(id=checkout_id),
            # Kept so that the subscription and payment intent get the same metadata.
            "_product": line["product_data"]["name"],
            "_metadata_for_payment": dict(
                (params.get("subscription_data") or params.get("payment_intent_data") or {}).get(
                    "metadata"
                )
                or {}
            ),
        }
        self.put(checkout)
        self.put({"id": key_id, "object": "idempotency_key", "session": checkout_id})
        return _public(checkout)

    def retrieve_payment_intent(self, payment_intent_id: str) -> StripeDict:
        # One query for the intent, its charge and the charge's balance transaction: every
        # paid checkout's webhook asks for exactly this expansion.
        found = self.session.execute(_READ_EXPANDED, {"id": payment_intent_id}).first()
        if found is None:
            raise GatewayError(f"No such sandbox object: {payment_intent_id}")
        intent, charge, txn = (dict(data) if data is not None else None for data in found)
        assert intent is not None
        if intent.get("latest_charge"):
            if charge is None:
                raise GatewayError(f"No such sandbox object: {intent['latest_charge']}")
            if charge.get("balance_transaction"):
                if txn is None:
                    raise GatewayError(f"No such sandbox object: {charge['balance_transaction']}")
                charge["balance_transaction"] = txn
            intent["latest_charge"] = charge
        return intent

    def retrieve_charge(self, charge_id: str) -> StripeDict:
        charge = self.get(charge_id)
        if charge.get("balance_transaction"):
            charge["balance_transaction"] = self.get(charge["balance_transaction"])
        return charge

    def list_invoice_payments(self, invoice_id: str) -> list[StripeDict]:
        invoice = self.get(invoice_id)
        return [
            {
                "id": f"inpay_{invoice_id}",
                "object": "invoice_payment",
                "invoice": invoice_id,
                "status": "paid" if invoice["status"] == "paid" else "open",
                "amount_paid": invoice["amount_paid"],
                "currency": invoice["currency"],
                "payment": {"type": "payment_intent", "payment_intent": invoice["_payment_intent"]},
            }
        ]

    def list_refunds(self, charge_id: str) -> list[StripeDict]:
        rows = self.session.scalars(
            sa.select(SandboxObject)
            .where(SandboxObject.object == "refund")
            .order_by(SandboxObject.created_at)
        )
        return [dict(row.data) for row in rows if row.data.get("charge") == charge_id]

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> StripeDict:
        subscription = self.get(subscription_id)
        if subscription["status"] != "canceled":
            subscription.update(status="canceled", canceled_at=now(), ended_at=now())
            self.put(subscription)
        return subscription


def _public(obj: StripeDict) -> StripeDict:
    """The object without the sandbox's private bookkeeping fields."""
    return {key: value for key, value in obj.items() if not key.startswith("_")}


def event(kind: str, obj: StripeDict) -> StripeDict:
    """An event envelope as Stripe sends it."""
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": _ApiVersion.CURRENT,
        "created": now(),
        "data": {"object": _public(obj)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


Receiver = Callable[[bytes, str], Any]


def deliver(events: list[StripeDict], *, secret: str, receive: Receiver) -> list[Any]:
    """Sign each event as Stripe would and hand it to the webhook receiver, in order."""
    results = []
    for item in events:
        payload = json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        results.append(receive(payload, sign_payload(payload, secret)))
    return results
