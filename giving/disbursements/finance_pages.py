"""The campaign's books: budget, requests, decisions and the activity log.

Evidence corrections (adding files, publishing, taking down, declaring a child) are in
``evidence_pages``.

Readers are the campaign's organisers, its host's members, auditors and admins; anyone else
gets 404, as if the page did not exist (visitors are asked to log in first). Each handler
parses a form, calls one service and renders or redirects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts.current import require_actor
from giving.campaigns.models import Campaign
from giving.campaigns.queries import campaign_or_404
from giving.db import transaction
from giving.disbursements import consent, queries, services
from giving.disbursements.access import can_decide, can_request, can_view_books
from giving.disbursements.forms import (
    BudgetForm,
    DecisionForm,
    DisbursementForm,
    EvidenceForm,
    RedactedCopyForm,
    ShowsChildrenForm,
    WithdrawCopyForm,
)
from giving.disbursements.models import Category, Disbursement, WithheldReason
from giving.disbursements.uploads import (
    attach_upload_error,
    evidence_storage,
    max_evidence_bytes,
    slot_uploads,
)
from giving.errors import DomainError, NotFound, PermissionDenied
from giving.forms_util import attach_error, attach_refusal, form_error_status
from giving.hosts.services import host_of
from giving.impact import access as registry_access
from giving.impact import links
from giving.money import Money
from giving.web import db_session, login_required


def books_campaign(public_id: str) -> Campaign:
    """The campaign, if the actor may read its books; 404 otherwise."""
    session = db_session()
    campaign = campaign_or_404(session, public_id)
    if not can_view_books(session, require_actor(), campaign):
        raise NotFound(_("We could not find that campaign."))
    return campaign


def _context(campaign: Campaign) -> dict[str, Any]:
    session = db_session()
    actor = require_actor()
    return {
        "campaign": campaign,
        "host": host_of(session, campaign),
        "can_request": can_request(actor, campaign),
        "can_decide": can_decide(session, actor, campaign),
    }


def _children(campaign: Campaign, disbursement: Disbursement | None = None) -> dict[str, Any]:
    """The registry's children for a page's checkboxes and selects, ticked where
    ``disbursement`` reached them: listed once per page, and that listing is logged as a
    read, here, before the template formats it. Readers the registry is closed to get none."""
    session = db_session()
    actor = require_actor()
    if not registry_access.can_view_registry(session, actor, campaign):
        return {"child_choices": [], "can_manage_registry": False}
    with transaction(session):
        choices = links.link_choices(
            session, actor=actor, campaign=campaign, disbursement=disbursement
        )
    return {
        "child_choices": choices,
        "can_manage_registry": registry_access.can_manage_registry(actor, campaign),
    }


@login_required
def overview(public_id: str) -> ResponseReturnValue:
    campaign = books_campaign(public_id)
    session = db_session()
    return render_template(
        "disbursements/overview.html",
        disbursements=queries.disbursements_of(session, campaign),
        money_flow=queries.campaign_money_flow(session, campaign),
        budget_rows=queries.budget_vs_actual(session, campaign),
        **_context(campaign),
    )


@login_required
def activity(public_id: str) -> ResponseReturnValue:
    campaign = books_campaign(public_id)
    return render_template(
        "disbursements/activity.html",
        entries=queries.activity_of(db_session(), campaign),
        category_labels={category.value: category.label for category in Category},
        withheld_labels={reason.value: reason.label for reason in WithheldReason},
        **_context(campaign),
    )


@login_required
def edit_budget(public_id: str) -> ResponseReturnValue:
    campaign = books_campaign(public_id)
    actor = require_actor()
    if not can_request(actor, campaign):
        raise PermissionDenied(_("Only this campaign's organisers can set its budget."))
    session = db_session()
    planned = queries.budget_amounts(session, campaign)
    form = BudgetForm(
        data={
            name: (str(Money(planned[name], campaign.currency).major) if planned.get(name) else "")
            for name in BudgetForm.CATEGORY_FIELDS
        }
    )
    if form.validate_on_submit():
        try:
            with transaction(session):
                services.set_budget(
                    session, actor=actor, campaign=campaign, amounts=form.amounts(campaign.currency)
                )
        except DomainError as exc:
            attach_refusal(form, exc)
            page = render_template("disbursements/budget.html", form=form, **_context(campaign))
            return page, form_error_status(exc)
        flash(_("The budget is saved."), "success")
        return redirect(url_for("disbursements.overview", public_id=campaign.public_id))
    status = 400 if form.is_submitted() else 200
    return render_template("disbursements/budget.html", form=form, **_context(campaign)), status


@login_required
def new_request(public_id: str) -> ResponseReturnValue:
    campaign = books_campaign(public_id)
    actor = require_actor()
    if not can_request(actor, campaign):
        raise PermissionDenied(_("Only this campaign's organisers can request disbursements."))
    form = DisbursementForm(data={"currency": campaign.currency})
    if form.validate_on_submit():
        session = db_session()
        evidence, places = slot_uploads(form.evidence.entries)
        try:
            with transaction(session):
                disbursement = services.request_disbursement(
                    session,
                    actor=actor,
                    campaign=campaign,
                    payee=form.payee.data,
                    amount=form.money(),
                    category=form.category.data,
                    spent_on=form.spent_on.data,
                    description=form.description.data,
                    groups_reached=form.groups_reached.data or "",
                    people_reached=form.people_reached.data,
                    evidence=evidence,
                    storage=evidence_storage(),
                    max_bytes=max_evidence_bytes(),
                )
                links.set_disbursement_children(
                    session,
                    actor=actor,
                    disbursement=disbursement,
                    refs=request.form.getlist("children"),
                )
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            attach_upload_error(form, exc, places)
            page = render_template(
                "disbursements/request.html", form=form, **_context(campaign), **_children(campaign)
            )
            return page, form_error_status(exc)
        flash(_("Your request is sent; a finance member of the host will decide on it."), "success")
        return redirect(detail_url(disbursement))
    status = 400 if form.is_submitted() else 200
    page = render_template(
        "disbursements/request.html", form=form, **_context(campaign), **_children(campaign)
    )
    return page, status


def detail_url(disbursement: Disbursement) -> str:
    return url_for(
        "disbursements.show_request",
        public_id=disbursement.campaign.public_id,
        disbursement_id=disbursement.id,
    )


def detail_page(
    campaign: Campaign,
    disbursement: Disbursement,
    *,
    decision_form: DecisionForm | None = None,
    evidence_form: EvidenceForm | None = None,
    redacted_forms: dict[int, RedactedCopyForm] | None = None,
    withdraw_forms: dict[int, WithdrawCopyForm] | None = None,
    children_forms: dict[int, ShowsChildrenForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    forms = {
        e.id: RedactedCopyForm(prefix=f"redacted-{e.id}", formdata=None)
        for e in disbursement.evidence
    }
    forms.update(redacted_forms or {})
    withdraw = {
        e.id: WithdrawCopyForm(prefix=f"withdraw-{e.id}", formdata=None)
        for e in disbursement.evidence
    }
    withdraw.update(withdraw_forms or {})
    declare = {
        e.id: ShowsChildrenForm(prefix=f"shows-children-{e.id}", formdata=None)
        for e in disbursement.evidence
    }
    declare.update(children_forms or {})
    session = db_session()
    page = render_template(
        "disbursements/detail.html",
        disbursement=disbursement,
        children_shown={e.id: consent.children_shown(session, e) for e in disbursement.evidence},
        decision_form=decision_form or DecisionForm(formdata=None),
        evidence_form=evidence_form or EvidenceForm(formdata=None),
        redacted_forms=forms,
        withdraw_forms=withdraw,
        children_forms=declare,
        available=services.available_balance(db_session(), campaign),
        is_requester=require_actor().id == disbursement.requested_by_id,
        **_context(campaign),
        **_children(campaign, disbursement),
    )
    return page, status


@login_required
def show_request(public_id: str, disbursement_id: int) -> ResponseReturnValue:
    campaign = books_campaign(public_id)
    disbursement = queries.disbursement_in(db_session(), campaign, disbursement_id)
    return detail_page(campaign, disbursement)


def _decide(
    public_id: str,
    disbursement_id: int,
    action: Callable[..., Disbursement],
    reason_keyword: str,
    message: str,
) -> ResponseReturnValue:
    campaign = books_campaign(public_id)
    session = db_session()
    disbursement = queries.disbursement_in(session, campaign, disbursement_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return detail_page(campaign, disbursement, decision_form=form, status=400)
    try:
        with transaction(session):
            action(
                session,
                actor=require_actor(),
                disbursement=disbursement,
                **{reason_keyword: form.reason.data or ""},
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        session.expire_all()
        disbursement = queries.disbursement_in(session, campaign, disbursement_id)
        attach_error(form, exc)
        return detail_page(
            campaign, disbursement, decision_form=form, status=form_error_status(exc)
        )
    flash(message, "success")
    return redirect(detail_url(disbursement))


@login_required
def approve(public_id: str, disbursement_id: int) -> ResponseReturnValue:
    return _decide(
        public_id,
        disbursement_id,
        services.approve_disbursement,
        "note",
        _("Approved and recorded in the ledger."),
    )


@login_required
def reject(public_id: str, disbursement_id: int) -> ResponseReturnValue:
    return _decide(
        public_id,
        disbursement_id,
        services.reject_disbursement,
        "reason",
        _("The request is rejected; the organisers can see your reason."),
    )


@login_required
def reverse(public_id: str, disbursement_id: int) -> ResponseReturnValue:
    return _decide(
        public_id,
        disbursement_id,
        services.reverse_disbursement,
        "reason",
        _("The disbursement is reversed; the money is back in the campaign's fund."),
    )
