"""What the sandbox does when the donor presses pay, fail or pay later (and renewals, refunds).

Each function changes the sandbox's Stripe-shaped objects the way Stripe would and returns
the events Stripe would send for it, for ``sandbox.deliver`` to sign and hand to the webhook.
"""

from __future__ import annotations

from giving.payments.gateway import GatewayError, StripeDict
from giving.payments.sandbox import SandboxGateway, event, new_id, now

# A fee like a card processor's: 2.9 % plus a small fixed part per currency.
FEE_BASIS_POINTS = 290
FEE_FIXED = {"cny": 50, "usd": 30, "hkd": 235, "eur": 25}


def sandbox_fee(amount_minor: int, currency: str) -> int:
    """The sandbox's processing fee in minor units (``currency`` lower case, as Stripe's)."""
    return (amount_minor * FEE_BASIS_POINTS * 2 + 10_000) // 20_000 + FEE_FIXED.get(currency, 0)


def open_checkout(gateway: SandboxGateway, checkout_id: str) -> StripeDict:
    checkout = gateway.get(checkout_id)
    if checkout.get("object") != "checkout.session":
        raise GatewayError(f"No such checkout session: {checkout_id}")
    return checkout


def _charge(
    gateway: SandboxGateway, checkout: StripeDict, method: str, intent_id: str
) -> StripeDict:
    amount, currency = int(checkout["amount_total"]), str(checkout["currency"])
    fee = sandbox_fee(amount, currency)
    charge_id, txn_id = new_id("ch"), new_id("txn")
    gateway.put(
        {
            "id": txn_id,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": now() + 7 * 86400,
            "created": now(),
            "currency": currency,
            "description": checkout["_product"],
            "exchange_rate": None,
            "fee": fee,
            "fee_details": [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Sandbox processing fees",
                    "type": "stripe_fee",
                }
            ],
            "net": amount - fee,
            "reporting_category": "charge",
            "source": charge_id,
            "status": "pending",
            "type": "charge",
        }
    )
    return gateway.put(
        {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "balance_transaction": txn_id,
            "captured": True,
            "created": now(),
            "currency": currency,
            "description": checkout["_product"],
            "disputed": False,
            "livemode": False,
            "metadata": checkout["_metadata_for_payment"],
            "paid": True,
            "payment_intent": intent_id,
            "payment_method_details": {"type": method},
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/charges/{charge_id}/refunds",
            },
            "status": "succeeded",
        }
    )


def _payment_intent(
    gateway: SandboxGateway, checkout: StripeDict, method: str, *, paid: bool
) -> StripeDict:
    intent_id = new_id("pi")
    intent: StripeDict = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": checkout["amount_total"],
        "amount_received": 0,
        "created": now(),
        "currency": checkout["currency"],
        "latest_charge": None,
        "livemode": False,
        "metadata": checkout["_metadata_for_payment"],
        "payment_method_types": [method],
        "status": "processing",
    }
    if paid:
        charge = _charge(gateway, checkout, method, intent_id)
        intent.update(
            latest_charge=charge["id"], amount_received=charge["amount"], status="succeeded"
        )
    return gateway.put(intent)


def pay(gateway: SandboxGateway, checkout_id: str, method: str = "card") -> list[StripeDict]:
    """The donor paid at once: the events Stripe sends for a completed checkout."""
    checkout = _open_for_payment(gateway, checkout_id, method)
    if checkout["mode"] == "subscription":
        return _start_subscription(gateway, checkout)
    intent = _payment_intent(gateway, checkout, method, paid=True)
    checkout.update(status="complete", payment_status="paid", payment_intent=intent["id"])
    gateway.put(checkout)
    return [event("checkout.session.completed", checkout)]


def pay_later(gateway: SandboxGateway, checkout_id: str, method: str = "card") -> list[StripeDict]:
    """A delayed method: checkout completes unpaid, the money is confirmed later (settle)."""
    checkout = _open_for_payment(gateway, checkout_id, method)
    if checkout["mode"] == "subscription":
        raise GatewayError("monthly gifts are paid by card at once")
    intent = _payment_intent(gateway, checkout, method, paid=False)
    checkout.update(status="complete", payment_status="unpaid", payment_intent=intent["id"])
    gateway.put(checkout)
    return [event("checkout.session.completed", checkout)]


def settle(gateway: SandboxGateway, checkout_id: str) -> list[StripeDict]:
    """The delayed payment succeeded."""
    checkout = open_checkout(gateway, checkout_id)
    if checkout["payment_status"] != "unpaid" or not checkout.get("payment_intent"):
        raise GatewayError("this checkout has no delayed payment waiting")
    intent = gateway.get(checkout["payment_intent"])
    method = intent["payment_method_types"][0]
    charge = _charge(gateway, checkout, method, intent["id"])
    intent.update(latest_charge=charge["id"], amount_received=charge["amount"], status="succeeded")
    gateway.put(intent)
    checkout.update(payment_status="paid")
    gateway.put(checkout)
    return [event("checkout.session.async_payment_succeeded", checkout)]


def fail(gateway: SandboxGateway, checkout_id: str) -> list[StripeDict]:
    """The payment did not go through."""
    checkout = open_checkout(gateway, checkout_id)
    if checkout["payment_status"] == "paid":
        raise GatewayError("this checkout is already paid")
    events: list[StripeDict] = []
    if checkout["status"] == "open":
        checkout.update(status="complete", payment_status="unpaid")
        gateway.put(checkout)
        events.append(event("checkout.session.completed", checkout))
    if checkout.get("payment_intent"):
        intent = gateway.get(checkout["payment_intent"])
        intent.update(status="requires_payment_method")
        gateway.put(intent)
    events.append(event("checkout.session.async_payment_failed", checkout))
    return events


def _open_for_payment(gateway: SandboxGateway, checkout_id: str, method: str) -> StripeDict:
    checkout = open_checkout(gateway, checkout_id)
    if checkout["status"] != "open":
        raise GatewayError("this checkout is finished")
    if now() >= int(checkout["expires_at"]):  # as Stripe: an expired page takes no payment
        raise GatewayError("this checkout has expired")
    if method not in checkout["payment_method_types"]:
        raise GatewayError(f"{method} is not offered for this checkout")
    return checkout


def _start_subscription(gateway: SandboxGateway, checkout: StripeDict) -> list[StripeDict]:
    metadata = checkout["_metadata_for_payment"]
    subscription = gateway.put(
        {
            "id": new_id("sub"),
            "object": "subscription",
            "created": now(),
            "currency": checkout["currency"],
            "livemode": False,
            "metadata": metadata,
            "status": "active",
            "canceled_at": None,
            "ended_at": None,
            "_checkout": checkout["id"],
        }
    )
    invoice_events = renew(gateway, subscription["id"], billing_reason="subscription_create")
    checkout.update(
        status="complete",
        payment_status="paid",
        subscription=subscription["id"],
        invoice=invoice_events[0]["data"]["object"]["id"],
    )
    gateway.put(checkout)
    return [event("checkout.session.completed", checkout), *invoice_events]


def renew(
    gateway: SandboxGateway, subscription_id: str, *, billing_reason: str = "subscription_cycle"
) -> list[StripeDict]:
    """Another month of a monthly gift: a paid invoice."""
    subscription = gateway.get(subscription_id)
    if subscription["status"] != "active":
        raise GatewayError("this monthly gift is cancelled")
    checkout = gateway.get(subscription["_checkout"])
    intent = _payment_intent(gateway, checkout, "card", paid=True)
    invoice = gateway.put(
        {
            "id": new_id("in"),
            "object": "invoice",
            "amount_due": checkout["amount_total"],
            "amount_paid": checkout["amount_total"],
            "amount_remaining": 0,
            "billing_reason": billing_reason,
            "created": now(),
            "currency": checkout["currency"],
            "customer_email": checkout.get("customer_email"),
            "livemode": False,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": subscription["metadata"],
                    "subscription": subscription_id,
                },
                "type": "subscription_details",
            },
            "status": "paid",
            "_payment_intent": intent["id"],
        }
    )
    return [event("invoice.paid", invoice)]


def refund(
    gateway: SandboxGateway, charge_id: str, amount_minor: int | None = None
) -> list[StripeDict]:
    """Give (part of) a charge back: ``charge.refunded`` with the charge and its refunds."""
    charge = gateway.get(charge_id)
    remaining = int(charge["amount"]) - int(charge["amount_refunded"])
    amount = remaining if amount_minor is None else amount_minor
    if not 0 < amount <= remaining:
        raise GatewayError("refund amount is more than what is left of the charge")
    gateway.put(
        {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge_id,
            "created": now(),
            "currency": charge["currency"],
            "metadata": {},
            "payment_intent": charge.get("payment_intent"),
            "reason": "requested_by_customer",
            "status": "succeeded",
        }
    )
    refunds = gateway.list_refunds(charge_id)
    charge.update(
        amount_refunded=int(charge["amount_refunded"]) + amount,
        refunded=int(charge["amount_refunded"]) + amount == int(charge["amount"]),
        refunds={
            "object": "list",
            "data": refunds,
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
    )
    gateway.put(charge)
    return [event("charge.refunded", charge)]
