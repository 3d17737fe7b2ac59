"""The sandbox checkout page: pay, fail or pay later, without a real payment provider.

Each button changes the sandbox's Stripe-shaped objects and delivers the resulting events,
signed with the webhook secret, to ``events.accept_webhook`` in this process, exactly as
``POST /webhooks/stripe`` would. Only served while the sandbox is the active provider.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from giving.accounts.forms import EmptyForm
from giving.db import transaction
from giving.errors import Conflict
from giving.payments import runtime, sandbox, sandbox_flows, services
from giving.payments.events import accept_webhook
from giving.payments.gateway import GatewayError, StripeDict
from giving.payments.sandbox import SandboxGateway
from giving.web import db_session

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

METHOD_NAMES = {
    "card": _l("Card"),
    "alipay": _l("Alipay"),
    "wechat_pay": _l("WeChat Pay"),
}
# Stripe's Checkout Session ``status`` and ``payment_status`` values, as a donor reads them.
STATUS_NAMES = {
    "open": _l("open"),
    "complete": _l("complete"),
    "expired": _l("expired"),
    "paid": _l("paid"),
    "unpaid": _l("unpaid"),
    "no_payment_required": _l("no payment required"),
}


def _status_name(value: object) -> str:
    return str(STATUS_NAMES.get(str(value), str(value)))


def _gateway(session: Session) -> SandboxGateway:
    config = runtime.config()
    if config.provider != "sandbox" or not config.sandbox_allowed:
        abort(404)
    return SandboxGateway(session)


def deliver_in_process(session: Session, events: list[StripeDict]) -> None:
    """Sign the events and hand them to the webhook receiver, as Stripe would over HTTP."""
    config = runtime.config()
    runner = runtime.runner()
    sandbox.deliver(
        events,
        secret=config.webhook_secret,
        receive=lambda payload, header: accept_webhook(
            session, runner, payload, header, config.webhook_secret
        ),
    )


@bp.route("/checkout/<checkout_id>", methods=["GET", "POST"])
def checkout(checkout_id: str) -> ResponseReturnValue:
    session = db_session()
    gateway = _gateway(session)
    try:
        checkout = sandbox_flows.open_checkout(gateway, checkout_id)
    except GatewayError:
        abort(404)
    session.commit()
    form = EmptyForm()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        action = request.form.get("action", "")
        method = request.form.get("method", "card")
        actions = {
            "pay": lambda: sandbox_flows.pay(gateway, checkout_id, method),
            "later": lambda: sandbox_flows.pay_later(gateway, checkout_id, method),
            "settle": lambda: sandbox_flows.settle(gateway, checkout_id),
            "fail": lambda: sandbox_flows.fail(gateway, checkout_id),
        }
        if action == "cancel":
            return redirect(checkout["cancel_url"], code=303)
        if action not in actions:
            abort(400)
        try:
            with transaction(session):
                if action in ("pay", "later"):  # starting to pay; a settling one completes
                    services.require_checkout_payable(session, checkout)
                events = actions[action]()
        except GatewayError as exc:
            error = str(exc)
        except Conflict as exc:
            error = exc.message
        else:
            deliver_in_process(session, events)
            if action == "fail":
                return redirect(checkout["cancel_url"], code=303)
            return redirect(checkout["success_url"], code=303)
    elif request.method == "POST":
        abort(400)
    status = 400 if error else 200
    return (
        render_template(
            "payments/sandbox_checkout.html",
            checkout=checkout,
            form=form,
            error=error,
            methods=[(m, str(METHOD_NAMES.get(m, m))) for m in checkout["payment_method_types"]],
            status=_status_name(checkout["status"]),
            payment_status=_status_name(checkout["payment_status"]),
            title=_("Sandbox checkout"),
        ),
        status,
    )
