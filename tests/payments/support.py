"""Stripe-shaped objects and events for tests, built from Stripe's own example objects.

``stripe_fixtures/openapi_fixtures3_subset.json`` is copied from ../shared/stripe-fixtures
(Stripe's OpenAPI fixtures, the data behind stripe-mock; see SOURCE.txt). Each builder copies
one example object and sets only the fields a case needs, and ``sign`` computes the
``Stripe-Signature`` header independently, exactly as Stripe documents it.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from giving.config import DEV_WEBHOOK_SECRET

FIXTURES: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "stripe_fixtures" / "openapi_fixtures3_subset.json").read_text()
)
_seconds = itertools.count(1_760_000_000, 7)


def fixture(resource: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of Stripe's example ``resource`` object with ``changes`` applied."""
    obj = copy.deepcopy(FIXTURES[resource])
    obj.update(changes)
    return obj


def new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(10)}"


def unix() -> int:
    """Distinct, increasing Stripe timestamps."""
    return next(_seconds)


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An event envelope like Stripe's (its example event, with our object inside)."""
    envelope = fixture("event")
    envelope.update(
        id=event_id or new_id("evt"),
        type=kind,
        created=unix(),
        api_version="2026-10-28.endive",
        data={"object": obj},
        pending_webhooks=1,
    )
    return envelope


def sign(payload: bytes, secret: str = DEV_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """``Stripe-Signature``: t=<unix>, v1=HMAC-SHA256(secret, "<t>.<raw body>") in hex."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def encode(evt: dict[str, Any]) -> bytes:
    return json.dumps(evt, indent=2).encode()  # Stripe sends pretty-printed JSON


def post_event(
    client: FlaskClient,
    evt: dict[str, Any],
    *,
    secret: str = DEV_WEBHOOK_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> TestResponse:
    payload = encode(evt)
    headers = {
        "Stripe-Signature": signature if signature is not None else sign(payload, secret, timestamp)
    }
    return client.post(
        "/webhooks/stripe", data=payload, headers=headers, content_type="application/json"
    )


# --- objects -------------------------------------------------------------------------------


def checkout_session(
    intent_public_id: str | None,
    *,
    amount: int,
    currency: str,
    payment_intent: str | None,
    payment_status: str = "paid",
    mode: str = "payment",
    subscription: str | None = None,
) -> dict[str, Any]:
    return fixture(
        "checkout.session",
        id=new_id("cs"),
        amount_subtotal=amount,
        amount_total=amount,
        currency=currency.lower(),
        metadata={"giving_intent": intent_public_id} if intent_public_id else {},
        client_reference_id=intent_public_id,
        mode=mode,
        payment_intent=payment_intent,
        payment_status=payment_status,
        status="complete",
        subscription=subscription,
        payment_method_types=["card", "alipay", "wechat_pay"] if mode == "payment" else ["card"],
    )


def balance_transaction(
    charge_id: str, *, amount: int, currency: str, fee: int, settled: int | None = None
) -> dict[str, Any]:
    return fixture(
        "balance_transaction",
        id=new_id("txn"),
        amount=amount if settled is None else settled,
        currency=currency.lower(),
        fee=fee,
        net=(amount if settled is None else settled) - fee,
        fee_details=[
            {
                "amount": fee,
                "application": None,
                "currency": currency.lower(),
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ],
        source=charge_id,
        exchange_rate=None,
    )


def charge(
    *,
    amount: int,
    currency: str,
    payment_intent: str,
    balance_txn: str,
    refunds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    charge_id = new_id("ch")
    refunded = sum(r["amount"] for r in refunds or [])
    return fixture(
        "charge",
        id=charge_id,
        amount=amount,
        amount_captured=amount,
        amount_refunded=refunded,
        balance_transaction=balance_txn,
        captured=True,
        currency=currency.lower(),
        paid=True,
        status="succeeded",
        payment_intent=payment_intent,
        refunded=refunded == amount,
        refunds={
            "object": "list",
            "data": refunds or [],
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
    )


def refund(
    charge_id: str, *, amount: int, currency: str, status: str = "succeeded"
) -> dict[str, Any]:
    return fixture(
        "refund",
        id=new_id("re"),
        charge=charge_id,
        amount=amount,
        currency=currency.lower(),
        status=status,
        created=unix(),
    )


def dispute(
    charge_id: str,
    *,
    amount: int,
    currency: str,
    status: str,
    balance_transactions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return fixture(
        "dispute",
        id=new_id("dp"),
        charge=charge_id,
        amount=amount,
        currency=currency.lower(),
        status=status,
        balance_transactions=balance_transactions or [],
        created=unix(),
    )


def invoice(
    *, amount: int, currency: str, subscription: str, intent_public_id: str | None
) -> dict[str, Any]:
    return fixture(
        "invoice",
        id=new_id("in"),
        amount_due=amount,
        amount_paid=amount,
        amount_remaining=0,
        currency=currency.lower(),
        status="paid",
        billing_reason="subscription_cycle",
        parent={
            "quote_details": None,
            "subscription_details": {
                "metadata": {"giving_intent": intent_public_id} if intent_public_id else {},
                "subscription": subscription,
            },
            "type": "subscription_details",
        },
    )
