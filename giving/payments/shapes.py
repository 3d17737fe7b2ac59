"""What each Stripe event Giving handles must look like, checked before a handler reads it.

Handlers read fields with ``int(...)``, ``str(...)`` and ``[...]``. A signed event whose
fields have other types (an amount that is text, a list where an object belongs) would raise
the same error on every retry, so ``shape_problem`` names the first such field and the event
is rejected for good instead (handlers.py). The rules follow Stripe's API reference for the
fields Giving reads: a field may be absent or null unless it is required, and when present
it has the type Stripe gives it. Fields Giving does not read are not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Far above any real amount (Stripe caps a charge at eight digits) and inside a BIGINT.
MAX_MINOR_UNITS = 10**15
# Unix seconds up to the year 36812: anything later is not a time Stripe sends.
MAX_UNIX_SECONDS = 2**40


@dataclass(frozen=True)
class Rule:
    """A leaf: a test for a value, described for the admin reading why an event was rejected."""

    description: str
    test: Callable[[Any], bool]


@dataclass(frozen=True)
class Each:
    """A list whose every item has ``shape``."""

    shape: Shape


@dataclass(frozen=True)
class Required:
    """A field that must be present and not null."""

    shape: Shape


Shape = Rule | Each | Required | Mapping[str, "Shape"]


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


TEXT = Rule("text", lambda v: isinstance(v, str))
FLAG = Rule("true or false", lambda v: isinstance(v, bool))
AMOUNT = Rule(
    f"a whole number of minor units from 0 to {MAX_MINOR_UNITS}",
    lambda v: _whole(v) and 0 <= v <= MAX_MINOR_UNITS,
)
SIGNED_AMOUNT = Rule(
    f"a whole number of minor units of at most {MAX_MINOR_UNITS} either way",
    lambda v: _whole(v) and abs(v) <= MAX_MINOR_UNITS,
)
UNIX_TIME = Rule("a time in whole Unix seconds", lambda v: _whole(v) and 0 <= v < MAX_UNIX_SECONDS)
CURRENCY = Rule(
    "a three-letter currency code",
    lambda v: isinstance(v, str) and len(v) == 3 and v.isascii() and v.isalpha(),
)
# An expandable reference: an id, or the object itself with its id.
REFERENCE = Rule(
    "an id or an object with an id",
    lambda v: isinstance(v, str) or (isinstance(v, dict) and isinstance(v.get("id"), str)),
)
METADATA = Rule(
    "an object of text values",
    lambda v: isinstance(v, dict) and all(isinstance(x, str | None) for x in v.values()),
)

ENVELOPE: Shape = {"created": UNIX_TIME, "livemode": FLAG}

CHECKOUT_SESSION: Shape = {
    "id": Required(TEXT),
    "amount_total": AMOUNT,
    "currency": CURRENCY,
    "mode": TEXT,
    "payment_status": TEXT,
    "metadata": METADATA,
    "client_reference_id": TEXT,
    "payment_intent": REFERENCE,
    "subscription": REFERENCE,
}
INVOICE: Shape = {
    "id": Required(TEXT),
    "amount_paid": AMOUNT,
    "currency": CURRENCY,
    "subscription": REFERENCE,
    "parent": {"subscription_details": {"subscription": REFERENCE, "metadata": METADATA}},
}
SUBSCRIPTION: Shape = {"id": Required(TEXT), "metadata": METADATA}
REFUND: Shape = {
    "id": Required(TEXT),
    "object": TEXT,
    "charge": REFERENCE,
    "amount": Required(AMOUNT),
    "currency": Required(CURRENCY),
    "status": TEXT,
    "created": UNIX_TIME,
}
CHARGE: Shape = {
    "id": Required(TEXT),
    "object": TEXT,
    "refunds": {"has_more": FLAG, "data": Each(REFUND)},
}
DISPUTE: Shape = {
    "id": Required(TEXT),
    "charge": REFERENCE,
    "amount": Required(AMOUNT),
    "currency": Required(CURRENCY),
    "status": TEXT,
    "created": UNIX_TIME,
    "balance_transactions": Each(
        {
            "id": Required(TEXT),
            "fee": SIGNED_AMOUNT,
            "currency": CURRENCY,
            "amount": SIGNED_AMOUNT,
        }
    ),
}

# The object inside each event type the handlers read (handlers.HANDLERS has the same keys).
OBJECT_SHAPES: dict[str, Shape] = {
    "checkout.session.completed": CHECKOUT_SESSION,
    "checkout.session.async_payment_succeeded": CHECKOUT_SESSION,
    "checkout.session.async_payment_failed": CHECKOUT_SESSION,
    "checkout.session.expired": CHECKOUT_SESSION,
    "invoice.paid": INVOICE,
    "customer.subscription.deleted": SUBSCRIPTION,
    "charge.refunded": CHARGE,
    "charge.refund.updated": REFUND,
    "refund.updated": REFUND,
    "charge.dispute.created": DISPUTE,
    "charge.dispute.funds_withdrawn": DISPUTE,
    "charge.dispute.closed": DISPUTE,
}


def shape_problem(event: Mapping[str, Any]) -> str | None:
    """What makes ``event`` unreadable for its handler, or None if every field it reads fits.

    ``event`` has passed ``signing.verify_event``: an id, a type and an object in ``data``.
    """
    problem = _problem(event, ENVELOPE, "")
    if problem is not None:
        return problem
    shape = OBJECT_SHAPES.get(str(event["type"]))
    if shape is None:
        return None
    return _problem(event["data"]["object"], shape, "data.object")


def _problem(value: Any, shape: Shape, path: str) -> str | None:
    if isinstance(shape, Required):
        if value is None:
            return f"{path} is missing"
        return _problem(value, shape.shape, path)
    if value is None:
        return None
    if isinstance(shape, Rule):
        if shape.test(value):
            return None
        return f"{path} must be {shape.description}, not {_show(value)}"
    if isinstance(shape, Each):
        if not isinstance(value, list):
            return f"{path} must be a list, not {_show(value)}"
        for index, item in enumerate(value):
            problem = _problem(item, shape.shape, f"{path}[{index}]")
            if problem is not None:
                return problem
        return None
    if not isinstance(value, dict):
        return f"{path} must be an object, not {_show(value)}"
    for key, inner in shape.items():
        problem = _problem(value.get(key), inner, f"{path}.{key}" if path else key)
        if problem is not None:
            return problem
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
