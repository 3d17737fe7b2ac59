"""The benchmark's yardstick: the least a webhook endpoint can do (bench/webhooks.py).

Checks the same Stripe-style signature with the same function as Giving, then inserts one
row into ``bench_minimal_events`` in the same database and commits. No ORM, no app
factory, nothing else: what remains is Flask, gunicorn, one HMAC and one INSERT.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, request

from giving.config import DEV_WEBHOOK_SECRET
from giving.payments.signing import InvalidWebhook, verify_event

TABLE = "bench_minimal_events"  # created by bench/webhooks.py

app = Flask(__name__)
engine = sa.create_engine(os.environ["MINIMAL_DATABASE_URL"], pool_size=8)
insert = sa.text(f"INSERT INTO {TABLE} (event_id, payload) VALUES (:event_id, :payload)")


@app.post("/webhooks/stripe")
def stripe_webhook() -> tuple[dict[str, object], int]:
    payload = request.get_data(cache=False)
    try:
        event = verify_event(payload, request.headers.get("Stripe-Signature"), DEV_WEBHOOK_SECRET)
    except InvalidWebhook as exc:
        return {"error": str(exc)}, 400
    with engine.begin() as connection:
        connection.execute(insert, {"event_id": str(event["id"]), "payload": payload.decode()})
    return {"received": True}, 200


@app.get("/healthz")
def healthz() -> tuple[str, int]:
    return "ok", 200
