"""Giving pages: the giving form, checkout return pages, receipts and the admin flag list.

Views parse input, call one service and render; the provider (Stripe or the sandbox) comes
from runtime.py. The sandbox checkout page and the webhook endpoint are child blueprints.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts.current import current_actor, require_actor, require_admin
from giving.accounts.forms import EmptyForm
from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.config import current_settings
from giving.db import transaction
from giving.disbursements.queries import donation_trace
from giving.errors import DomainError
from giving.extensions import csrf, limiter
from giving.forms_util import attach_error
from giving.i18n import current_locale
from giving.page_cache import reusable_by_url
from giving.payments import queries, receipts, runtime, services
from giving.payments.forms import DonateForm, ResolveFlagForm
from giving.payments.models import Frequency, IntentStatus
from giving.payments.sandbox_views import bp as sandbox_bp
from giving.payments.webhooks import bp as webhooks_bp
from giving.security import require_same_origin
from giving.web import db_session

bp = Blueprint("payments", __name__)
bp.register_blueprint(webhooks_bp)
bp.register_blueprint(sandbox_bp)


@bp.record_once
def _init(state: Any) -> None:
    runtime.init_app(state.app)


@bp.app_template_global()
def donate_form(campaign: Campaign) -> DonateForm:
    """A fresh giving form for a campaign page (templates/payments/_donate.html)."""
    actor = current_actor()
    form = _donate_form(actor, formdata=None)
    if actor is not None and not form.display_name.data:
        form.display_name.data = actor.display_name
    return form.for_currency(campaign.currency)


def _donate_form(actor: User | None, **kwargs: Any) -> DonateForm:
    """With a CSRF token for a logged-in donor; without one for everyone else.

    A token would tie the campaign page to one visitor's session and keep it out of every
    cache; anonymous gifts are protected by ``require_same_origin`` instead (see give()).
    """
    if actor is None:
        return DonateForm(meta={"csrf": False}, **kwargs)
    return DonateForm(**kwargs)


@bp.app_template_global()
def donations_open() -> bool:
    return runtime.config().accepts_donations


def _give_page(campaign: Campaign, form: DonateForm, status: int = 200) -> ResponseReturnValue:
    return render_template("payments/give.html", campaign=campaign, form=form), status


@bp.route("/campaigns/<public_id>/give", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def give(public_id: str) -> ResponseReturnValue:
    session = db_session()
    campaign = services.donatable_campaign(session, public_id)
    actor = current_actor()
    if request.method == "POST" and actor is None:
        require_same_origin()
    form = _donate_form(actor).for_currency(campaign.currency)
    if not form.is_submitted():
        if actor is not None and not form.display_name.data:
            form.display_name.data = actor.display_name
        return _give_page(campaign, form)
    if not runtime.config().accepts_donations:
        form.form_errors.append(_("Online giving is not available on this site yet."))
        return _give_page(campaign, form, 503)
    if not form.validate():
        return _give_page(campaign, form, 400)
    try:
        with transaction(session):
            amount = services.check_amount(
                form.amount_text(campaign.currency), campaign.currency, locale=current_locale()
            )
            new = services.create_intent(
                session,
                campaign=campaign,
                amount=amount,
                frequency=Frequency(form.frequency.data),
                display_name=None if form.anonymous.data else form.display_name.data,
                anonymous=bool(form.anonymous.data) or not (form.display_name.data or "").strip(),
                message=form.message.data,
                email=form.email.data,
                donor=actor,
                provider=runtime.config().provider,
            )
            checkout_url = services.start_checkout(
                session,
                runtime.gateway(session),
                new,
                success_url=url_for("payments.receipt", token=new.receipt_token, _external=True),
                cancel_url=url_for(
                    "payments.checkout_cancelled", intent=new.intent.public_id, _external=True
                ),
            )
    except services.PaymentProviderUnavailable as exc:
        form.form_errors.append(exc.message)
        return _give_page(campaign, form, 503)
    except DomainError as exc:
        if exc.field == "amount":  # the amount a donor types is the custom amount field
            exc = DomainError(exc.message, field="custom_amount")
        attach_error(form, exc)
        return _give_page(campaign, form, exc.status_code if exc.status_code != 404 else 400)
    return redirect(checkout_url, code=303)


csrf.exempt(give)  # a logged-in donor's form is still checked: DonateForm carries the token


@bp.route("/donations/cancelled/<intent>")
def checkout_cancelled(intent: str) -> ResponseReturnValue:
    found = queries.intent_by_public_id(db_session(), intent)
    campaign = found.campaign if found is not None else None
    return render_template("payments/cancelled.html", campaign=campaign)


def _private(response: Response) -> Response:
    """Receipt pages are bearer links: never cached, indexed or sent on as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/donations/<token>")
def receipt(token: str) -> ResponseReturnValue:
    session = db_session()
    intent = services.intent_by_receipt_token(session, token)
    built = receipts.build_receipt(session, intent, token)
    # Where each gift went (FIFO, stored as gifts and spending are sealed), read here so the
    # template only formats it.
    traces = {
        line.donation.ledger_seq: donation_trace(session, line.donation.ledger_seq)
        for line in built.lines
        if line.donation.ledger_seq is not None
    }
    html = render_template(
        "payments/receipt.html",
        receipt=built,
        intent=intent,
        campaign=intent.campaign,
        token=token,
        traces=traces,
    )
    response = _private(Response(html))
    if intent.status == IntentStatus.PAID:
        # A settled gift's receipt depends on nothing but its link; a donor waiting for a
        # pending one to settle always gets a fresh page.
        reusable_by_url(response)
    return response


@bp.route("/donations/<token>/proof/<int64:seq>.json")
def receipt_proof(token: str, seq: int) -> ResponseReturnValue:
    session = db_session()
    intent = services.intent_by_receipt_token(session, token)
    donation = next((d for d in intent.donations if d.ledger_seq == seq), None)
    if donation is None:
        abort(404)
    with transaction(session):
        data = receipts.inclusion_proof_json(session, current_settings(), donation)
    return _private(jsonify(data))


@bp.post("/donations/<token>/cancel")
def cancel_monthly(token: str) -> ResponseReturnValue:
    form = EmptyForm()
    session = db_session()
    intent = services.intent_by_receipt_token(session, token)
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction(session):
            services.cancel_monthly(session, runtime.gateway(session), intent)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Your monthly gift is cancelled. Thank you for your support."), "success")
    return redirect(url_for("payments.receipt", token=token), code=303)


# --- admin: payments that need a person ------------------------------------------------------


@bp.route("/admin/payments/flags")
def admin_flags() -> ResponseReturnValue:
    require_actor()  # a visitor gets 401 here, as before the one admin guard
    require_admin()
    flags = queries.payment_flags(db_session(), include_resolved=True)
    return render_template("payments/admin_flags.html", flags=flags, form=ResolveFlagForm())


@bp.post("/admin/payments/flags/<int:flag_id>/resolve")
def admin_resolve_flag(flag_id: int) -> ResponseReturnValue:
    actor = require_actor()
    form = ResolveFlagForm()
    if not form.validate_on_submit():
        flash(_("Say what was done about it."), "error")
        return redirect(url_for("payments.admin_flags"), code=303)
    session = db_session()
    try:
        with transaction(session):
            services.resolve_flag(session, actor=actor, flag_id=flag_id, note=form.note.data)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The flag is marked as resolved."), "success")
    return redirect(url_for("payments.admin_flags"), code=303)
