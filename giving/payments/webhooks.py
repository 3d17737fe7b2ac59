"""``POST /webhooks/stripe``: check the signature on the raw body and hand the event on.

No CSRF token (Stripe cannot send one; the signature is the authentication) and no rate
limit (Stripe sends every gift from a few addresses). A missing, wrong, stale or
future-dated signature, or a body nested too deep to parse safely, answers 400 and records
nothing; an accepted event is stored once and handled by the job runner
(events.accept_webhook), on a session that holds one connection for the request's short
transactions (store, ask the provider, apply). Unknown event types are stored and
answered 200, then ignored by the handler; an event whose fields its handler cannot read
is answered 200 too (a redelivery would not change it), rejected for good and flagged for
an admin.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from giving.extensions import csrf, limiter
from giving.payments import runtime
from giving.payments.events import accept_webhook
from giving.payments.signing import InvalidWebhook
from giving.web import db_session

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/stripe")
def stripe_webhook() -> ResponseReturnValue:
    config = runtime.config()
    if not config.accepts_donations:
        # No Stripe keys and the sandbox is off (production): nothing may sign events, and the
        # development secret is public, so the endpoint does not exist.
        abort(404)
    payload = request.get_data(cache=False)
    try:
        stored = accept_webhook(
            db_session(hold_connection=True),
            runtime.runner(),
            payload,
            request.headers.get("Stripe-Signature"),
            config.webhook_secret,
        )
    except InvalidWebhook as exc:
        log.info("webhook refused: %s", exc)
        return jsonify({"error": "invalid webhook", "message": str(exc)}), 400
    except Exception:
        # Stored but not handled (e.g. Stripe unreachable for the fee): a 5xx makes Stripe
        # deliver it again, and the redelivery runs the handler again.
        log.exception("webhook event could not be handled now")
        return jsonify({"error": "not handled yet", "message": "will be retried"}), 500
    return jsonify({"received": True, "duplicate": stored.duplicate}), 200


# Stripe cannot send a CSRF token; the signature is this endpoint's authentication.
csrf.exempt(stripe_webhook)
# Stripe delivers every gift from a handful of addresses: a per-address limit would turn
# gifts away at a busy moment, and an unsigned request costs one HMAC before its 400.
limiter.exempt(stripe_webhook)
