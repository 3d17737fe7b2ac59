"""Stripe's webhook signature scheme: checking incoming events and signing the sandbox's own.

Stripe signs ``"<t>.<raw body>"`` with HMAC-SHA256 under the endpoint secret and sends
``Stripe-Signature: t=<unix time>,v1=<hex>``. Verification is stripe-python's own
``WebhookSignature.verify_header`` on the raw bytes, with a 300-second tolerance so a captured
request cannot be replayed later, and no more than the same 300 seconds ahead of our clock
(stripe-python checks only the past), so a signature dated in the future cannot stretch that
window. The body is parsed only if it nests at most ``MAX_JSON_DEPTH`` deep: Python's parser
recurses, and a deeply nested body would otherwise escape as a RecursionError. The sandbox
signs with the same scheme so its events take exactly the same path as Stripe's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

import stripe

TOLERANCE_SECONDS = 300
# Stripe's events nest about ten levels deep at most (with expanded objects).
MAX_JSON_DEPTH = 64

# A JSON string literal (escapes included), and a bracket outside one.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


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
    if _signed_at(header) > time.time() + tolerance:
        raise InvalidWebhook("signature timestamp is too far in the future")
    if nests_deeper_than(payload, MAX_JSON_DEPTH):
        raise InvalidWebhook(f"body is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        event = json.loads(payload)
    except ValueError:
        raise InvalidWebhook("body is not JSON") from None
    except RecursionError:  # pragma: no cover - the depth check above comes first
        raise InvalidWebhook("body is nested too deeply") from None
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


def _signed_at(header: str) -> int:
    """The ``t=`` of a header that passed verification (stripe-python reads the first one)."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise InvalidWebhook("no timestamp in Stripe-Signature header")  # pragma: no cover


def nests_deeper_than(payload: bytes, limit: int) -> bool:
    """Whether the JSON text ``payload`` opens more than ``limit`` arrays or objects at once.

    Brackets inside strings are not nesting, so string literals are blanked out first. A
    malformed body may be misjudged either way; ``json.loads`` refuses it afterwards.
    """
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', payload)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
