"""A local fake Stripe API server for the real stripe-python client to talk to over HTTP.

It serves the few endpoints Giving calls, answering with objects built from Stripe's own
example objects (tests/payments/support.py), records every request (method, path, decoded
form or query parameters, headers) so tests can check what the client sent, honours
idempotency keys the way Stripe does (same key → same response), and can be told to fail.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.payments import support

API_KEY = "sk_test_giving_fake_0123456789"


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    """State of the fake: objects by id, what was asked, and failures to inject."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    fail_with: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def add(self, *objs: dict[str, Any]) -> None:
        with self.lock:
            for obj in objs:
                self.objects[obj["id"]] = obj

    def requests_to(self, method: str, path_start: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_start)]

    # -- scenario builders --
    def add_paid_intent(
        self,
        *,
        amount: int,
        currency: str,
        fee: int,
        settled: int | None = None,
        settlement_currency: str | None = None,
    ) -> tuple[str, str]:
        """A succeeded PaymentIntent with its charge and balance transaction; (pi id, charge id)."""
        pi = support.fixture(
            "payment_intent",
            id=support.new_id("pi"),
            amount=amount,
            currency=currency.lower(),
            status="succeeded",
            amount_received=amount,
        )
        placeholder = support.new_id("ch")
        txn = support.balance_transaction(
            placeholder,
            amount=amount,
            currency=settlement_currency or currency,
            fee=fee,
            settled=settled,
        )
        ch = support.charge(
            amount=amount, currency=currency, payment_intent=pi["id"], balance_txn=txn["id"]
        )
        txn["source"] = ch["id"]
        pi["latest_charge"] = ch["id"]
        self.add(pi, ch, txn)
        return pi["id"], ch["id"]

    def add_paid_invoice(self, invoice: dict[str, Any], payment_intent: str) -> None:
        self.add(invoice)
        self.objects[f"inpay_{invoice['id']}"] = {
            "id": f"inpay_{invoice['id']}",
            "object": "invoice_payment",
            "amount_paid": invoice["amount_paid"],
            "currency": invoice["currency"],
            "invoice": invoice["id"],
            "is_default": True,
            "livemode": False,
            "payment": {"type": "payment_intent", "payment_intent": payment_intent},
            "status": "paid",
        }

    # -- request handling --
    def handle(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(Recorded(method, path, params, headers))
            if self.fail_with is not None:
                return self.fail_with, _error("api_error", "Injected failure")
            if headers.get("Authorization") != f"Bearer {API_KEY}":
                return 401, _error("invalid_request_error", "Invalid API Key provided")
            key = headers.get("Idempotency-Key")
            if method == "POST" and key and key in self.idempotent:
                return self.idempotent[key]
            result = self._route(method, path, params)
            if method == "POST" and key:
                self.idempotent[key] = result
            return result

    def _route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self._create_session(params)
        if method == "GET" and len(parts) == 3 and parts[1] in ("payment_intents", "charges"):
            return self._retrieve(parts[2], _expands(params))
        if method == "GET" and path == "/v1/refunds":
            found = [
                o
                for o in self.objects.values()
                if o.get("object") == "refund" and o.get("charge") == params.get("charge")
            ]
            return 200, _list(found, "/v1/refunds")
        if method == "GET" and path == "/v1/invoice_payments":
            found = [
                o
                for o in self.objects.values()
                if o.get("object") == "invoice_payment"
                and o.get("invoice") == params.get("invoice")
            ]
            return 200, _list(found, "/v1/invoice_payments")
        if method == "DELETE" and len(parts) == 3 and parts[1] == "subscriptions":
            sub = self.objects.get(parts[2])
            if sub is None:
                return 404, _error(
                    "invalid_request_error",
                    f"No such subscription: '{parts[2]}'",
                    code="resource_missing",
                )
            if sub["status"] == "canceled":
                return 400, _error(
                    "invalid_request_error", "This subscription has already been canceled."
                )
            sub.update(status="canceled", canceled_at=support.unix())
            return 200, sub
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _create_session(self, params: dict[str, str]) -> dict[str, Any]:
        session_id = support.new_id("cs")
        obj = support.fixture(
            "checkout.session",
            id=session_id,
            mode=params.get("mode"),
            amount_total=int(params["line_items[0][price_data][unit_amount]"]),
            currency=params["line_items[0][price_data][currency]"],
            metadata={
                k.split("[")[1][:-1]: v for k, v in params.items() if k.startswith("metadata[")
            },
            client_reference_id=params.get("client_reference_id"),
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
            payment_method_types=[
                v for k, v in sorted(params.items()) if k.startswith("payment_method_types[")
            ],
            payment_status="unpaid",
            payment_intent=None,
            url=f"https://checkout.stripe.com/c/pay/{session_id}",
        )
        self.objects[session_id] = obj
        return obj

    def _retrieve(self, object_id: str, expand: list[str]) -> tuple[int, dict[str, Any]]:
        obj = self.objects.get(object_id)
        if obj is None:
            return 404, _error(
                "invalid_request_error", f"No such object: '{object_id}'", code="resource_missing"
            )
        return 200, self._expanded(json.loads(json.dumps(obj)), expand)

    def _expanded(self, obj: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        for path in expand:
            head, _, rest = path.partition(".")
            value = obj.get(head)
            if isinstance(value, str) and value in self.objects:
                obj[head] = self._expanded(
                    json.loads(json.dumps(self.objects[value])), [rest] if rest else []
                )
        return obj


def _expands(params: dict[str, str]) -> list[str]:
    return [v for k, v in params.items() if k.startswith("expand[")]


def _list(items: list[dict[str, Any]], url: str) -> dict[str, Any]:
    return {"object": "list", "data": items, "has_more": False, "url": url}


def _error(kind: str, message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, "code": code}}


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            params.update(parse_qsl(body, keep_blank_values=True))
            status, payload = fake.handle(
                self.command, parts.path, params, dict(self.headers.items())
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_fake")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def running_fake_stripe() -> Iterator[FakeStripe]:
    """Serve a fresh fake on 127.0.0.1 with a random port for the duration of the block."""
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-stripe", daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def paid_checkout(
    fake: FakeStripe, intent_id: str, *, amount: int = 5000, currency: str = "CNY", fee: int = 175
) -> tuple[dict[str, object], str]:
    """A checkout.session.completed event for a paid ¥50 gift, and the charge id behind it."""
    pi, charge_id = fake.add_paid_intent(amount=amount, currency=currency, fee=fee)
    session = support.checkout_session(
        intent_id, amount=amount, currency=currency, payment_intent=pi
    )
    return support.event("checkout.session.completed", session), charge_id
