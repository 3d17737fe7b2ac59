"""The real provider: Stripe through stripe-python's ``StripeClient``.

``STRIPE_API_BASE`` replaces the client's ``api`` base address (``base_addresses``), which is
how tests point the unmodified client at a local fake Stripe server. Every error the library
raises becomes ``GatewayError`` so callers show a retry message instead of failing with a 500.
"""

from __future__ import annotations

import threading
from typing import Any

import stripe
from stripe import StripeClient
from stripe._base_address import BaseAddresses  # the typed dict StripeClient takes

from giving.payments.config import PaymentsConfig, Provider
from giving.payments.gateway import GatewayError, StripeDict

_clients: dict[tuple[str, str | None, int], StripeClient] = {}
_clients_lock = threading.Lock()


def stripe_client(config: PaymentsConfig) -> StripeClient:
    """One client per key and base address, shared by threads (it keeps a connection pool)."""
    if not config.stripe_secret_key:
        raise GatewayError("STRIPE_SECRET_KEY is not set")
    key = (config.stripe_secret_key, config.stripe_api_base, config.stripe_max_retries)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            base: BaseAddresses = {}
            if config.stripe_api_base:
                base["api"] = config.stripe_api_base.rstrip("/")
            client = StripeClient(
                config.stripe_secret_key,
                base_addresses=base,
                max_network_retries=config.stripe_max_retries,
                http_client=stripe.RequestsClient(timeout=20),
            )
            _clients[key] = client
        return client


def _plain(obj: Any) -> StripeDict:
    data = obj.to_dict(recursive=True, for_json=True)
    assert isinstance(data, dict)
    return data


class StripeGateway:
    """``PaymentGateway`` over the Stripe API."""

    provider: Provider = "stripe"

    def __init__(self, config: PaymentsConfig) -> None:
        self._client = stripe_client(config)

    def create_checkout_session(self, params: StripeDict, *, idempotency_key: str) -> StripeDict:
        try:
            created = self._client.v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]  # built to Stripe's documented shape
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return _plain(created)

    def retrieve_payment_intent(self, payment_intent_id: str) -> StripeDict:
        try:
            found = self._client.v1.payment_intents.retrieve(
                payment_intent_id, params={"expand": ["latest_charge.balance_transaction"]}
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return _plain(found)

    def retrieve_charge(self, charge_id: str) -> StripeDict:
        try:
            found = self._client.v1.charges.retrieve(
                charge_id, params={"expand": ["balance_transaction"]}
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return _plain(found)

    def list_invoice_payments(self, invoice_id: str) -> list[StripeDict]:
        try:
            page = self._client.v1.invoice_payments.list(params={"invoice": invoice_id})
            return [_plain(item) for item in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def list_refunds(self, charge_id: str) -> list[StripeDict]:
        try:
            page = self._client.v1.refunds.list(params={"charge": charge_id, "limit": 100})
            return [_plain(item) for item in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def cancel_subscription(self, subscription_id: str, *, idempotency_key: str) -> StripeDict:
        try:
            cancelled = self._client.v1.subscriptions.cancel(
                subscription_id, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError as exc:
            # Cancelling a subscription that is already cancelled is what the donor wanted.
            if "canceled" in str(exc).lower() or "cancelled" in str(exc).lower():
                return {"id": subscription_id, "object": "subscription", "status": "canceled"}
            raise GatewayError(str(exc)) from exc
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return _plain(cancelled)
