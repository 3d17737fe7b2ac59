"""The narrow slice of Stripe's API that Giving uses, as an interface with two implementations.

``StripeGateway`` (stripe_gateway.py) talks to Stripe through stripe-python's ``StripeClient``;
``SandboxGateway`` (sandbox.py) answers the same calls from local, Stripe-shaped objects so the
offline demo runs the same handlers. Both return plain JSON-shaped dicts exactly as Stripe's
API would, so the code that reads them (``charge_facts``) is shared and tested once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from giving.ledger.memos import converted_fee_memo, fee_memo
from giving.payments.config import Provider

StripeDict = dict[str, Any]

# Stripe's documented presentment currencies per wallet (docs.stripe.com/payments/alipay and
# /payments/wechat-pay, "Determine compatibility"); both are one-off only, never subscriptions.
ALIPAY_CURRENCIES = frozenset(
    {"aud", "cad", "cny", "eur", "gbp", "hkd", "jpy", "nzd", "sgd", "usd", "myr"}
)
WECHAT_PAY_CURRENCIES = frozenset(
    {"aud", "cad", "cny", "eur", "gbp", "hkd", "jpy", "sgd", "usd", "dkk", "nok", "sek", "chf"}
)


class GatewayError(Exception):
    """The payment provider could not be reached or refused the call; safe to retry later."""


class PaymentGateway(Protocol):
    """What the payment code asks of a provider; every method may raise ``GatewayError``."""

    provider: Provider

    def create_checkout_session(self, params: StripeDict, *, idempotency_key: str) -> StripeDict:
        """Create a Checkout Session; the result has at least ``id`` and ``url``."""
        ...

    def retrieve_payment_intent(self, payment_intent_id: str) -> StripeDict:
        """The PaymentIntent with ``latest_charge.balance_transaction`` expanded."""
        ...

    def retrieve_charge(self, charge_id: str) -> StripeDict:
        """The Charge with ``balance_transaction`` expanded."""
        ...

    def list_invoice_payments(self, invoice_id: str) -> list[StripeDict]:
        """The invoice's payments (InvoicePayment objects)."""
        ...

    def list_refunds(self, charge_id: str) -> list[StripeDict]:
        """Every refund of a charge."""
        ...

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> StripeDict:
        """Cancel a subscription now; cancelling twice is not an error."""
        ...


def payment_method_types(currency: str, *, monthly: bool) -> list[str]:
    """Card always; Alipay and WeChat Pay for one-off gifts in currencies they present."""
    code = currency.lower()
    if monthly:
        return ["card"]
    methods = ["card"]
    if code in ALIPAY_CURRENCIES:
        methods.append("alipay")
    if code in WECHAT_PAY_CURRENCIES:
        methods.append("wechat_pay")
    return methods


@dataclass(frozen=True)
class ChargeFacts:
    """What the ledger needs to know about a paid charge, read from Stripe's objects."""

    charge_id: str
    amount_minor: int
    currency: str  # upper case, as Giving writes currencies
    fee_minor: int  # in the charge's currency
    fee_note: str  # how the fee was derived, for the ledger entry's memo
    paid: bool


def _object(value: Any, what: str) -> StripeDict:
    if not isinstance(value, dict):
        raise GatewayError(f"{what} was not expanded in the provider's answer")
    return value


def charge_facts(charge: StripeDict) -> ChargeFacts:
    """Read amount, currency and the processor fee from a charge with its balance transaction.

    The balance transaction is in the account's settlement currency, which may differ from
    the donation's (a CNY gift settled in USD). The fee is then converted back at the
    transaction's own rate, in integers (fee × charge amount ÷ settled amount), so the
    campaign's accounts stay in one currency; the memo keeps the original figures.
    """
    amount = int(charge["amount"])
    currency = str(charge["currency"]).upper()
    txn = _object(charge.get("balance_transaction"), "the charge's balance transaction")
    fee = int(txn["fee"])
    txn_currency = str(txn["currency"]).upper()
    if txn_currency == currency:
        fee_minor = fee
        note = fee_memo(fee, currency, str(txn["id"]))
    else:
        settled = int(txn["amount"])
        if settled <= 0:
            raise GatewayError(f"balance transaction {txn['id']} has no settled amount")
        fee_minor = (fee * amount * 2 + settled) // (2 * settled)  # round half up
        note = converted_fee_memo(
            fee_minor=fee,
            settled_minor=settled,
            settlement_currency=txn_currency,
            converted_minor=fee_minor,
            currency=currency,
            transaction_id=str(txn["id"]),
        )
    paid = bool(charge.get("paid")) and charge.get("status") == "succeeded"
    return ChargeFacts(
        charge_id=str(charge["id"]),
        amount_minor=amount,
        currency=currency,
        fee_minor=fee_minor,
        fee_note=note,
        paid=paid,
    )


def charge_of_payment_intent(gateway: PaymentGateway, payment_intent_id: str) -> StripeDict:
    intent = gateway.retrieve_payment_intent(payment_intent_id)
    return _object(intent.get("latest_charge"), "the payment intent's latest charge")


def charge_of_invoice(gateway: PaymentGateway, invoice_id: str) -> StripeDict:
    """The paid charge behind an invoice (newer API versions list it under invoice payments)."""
    for payment in gateway.list_invoice_payments(invoice_id):
        if payment.get("status") != "paid":
            continue
        inner = payment.get("payment") or {}
        if inner.get("type") == "payment_intent" and inner.get("payment_intent"):
            ref = inner["payment_intent"]
            pi_id = ref["id"] if isinstance(ref, dict) else str(ref)
            return charge_of_payment_intent(gateway, pi_id)
        if inner.get("type") == "charge" and inner.get("charge"):
            ref = inner["charge"]
            return gateway.retrieve_charge(ref["id"] if isinstance(ref, dict) else str(ref))
    raise GatewayError(f"invoice {invoice_id} has no paid payment yet")
