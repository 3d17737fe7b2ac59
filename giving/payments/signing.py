"""Stripe's webhook signature scheme: checking incoming events and signing the sandbox's own.

Stripe signs ``"<t>.<raw body>"`` with HMAC-SHA256 under the endpoint secret and sends
``Stripe-Signature: t=<unix time>,v1=<hex>``. Verification is stripe-python's own
``WebhookSignature.verify_header`` on the raw bytes, with a 300-second tolerance so a captured
request cannot be replayed later; the sandbox signs with the same scheme so its events take
exactly the same path as Stripe's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import stripe

TOLERANCE_SECONDS = 300


class InvalidWebhook(Exception):
    """The request is not a genuine, fresh, well-formed Stripe event; nothing is recorded."""


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value Stripe would send for ``payload``."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode("utf-8"), str(moment).encode() + b"." + payload, hashlib.sha256
    ).hexdigest()
    return f"t={moment},v1={digest}"


def verify_event(
    payload: bytes, header: str | None, secret: str, *, tolerance: int = TOLERANCE_SECONDS
) -> dict[str, Any]:
    """Check the signature on the raw body, then parse it into a Stripe event dict."""
    if not header:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(str(exc).split(".")[0]) from None
    except UnicodeDecodeError:
        raise InvalidWebhook("body is not UTF-8") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise InvalidWebhook("body is not JSON") from None
    data = event.get("data") if isinstance(event, dict) else None
    if (
        not isinstance(event, dict)
        or event.get("object") != "event"
        or not isinstance(event.get("id"), str)
        or not 0 < len(event["id"]) <= 255
        or not isinstance(event.get("type"), str)
        or not isinstance(data, dict)
        or not isinstance(data.get("object"), dict)
    ):
        raise InvalidWebhook("body is not a Stripe event")
    return event
