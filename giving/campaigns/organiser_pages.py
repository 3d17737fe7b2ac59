"""Organisers' pages: their campaigns, the campaign form, submitting, closing, updates and
co-organiser invitations. Each handler parses a form, calls one service and renders."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts.current import require_actor
from giving.accounts.forms import EmptyForm
from giving.campaigns import invitations, queries, services
from giving.campaigns.forms import CampaignForm, InviteForm, UpdateForm
from giving.campaigns.models import Campaign, CampaignState
from giving.campaigns.public_pages import public_url
from giving.campaigns.queries import campaign_or_404
from giving.db import transaction
from giving.errors import Conflict, DomainError, PermissionDenied
from giving.forms_util import attach_refusal, form_error_status
from giving.hosts.services import host_of
from giving.storage import app_storage
from giving.web import db_session, login_required


def _cover_upload(form: CampaignForm) -> services.CoverUpload | None:
    upload = form.cover.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    max_bytes = int(current_app.config["UPLOAD_MAX_BYTES"])
    # Read one byte past the limit: enough to know it is too big without reading it all.
    data = upload.stream.read(max_bytes + 1)
    return services.CoverUpload(data=data, storage=app_storage(current_app), max_bytes=max_bytes)


def _organised_campaign(public_id: str) -> Campaign:
    """The campaign, if the actor organises it: 404 if unknown, 403 if someone else's."""
    actor = require_actor()
    campaign = campaign_or_404(db_session(), public_id)
    if not campaign.is_organiser(actor):
        raise PermissionDenied(_("Only this campaign's organisers can manage it."))
    return campaign


@login_required
def my_campaigns() -> ResponseReturnValue:
    actor = require_actor()
    campaigns = queries.campaigns_organised_by(db_session(), actor)
    return render_template(
        "campaigns/mine.html",
        campaigns=campaigns,
        can_create=services.can_create_campaigns(actor),
    )


@login_required
def new_campaign() -> ResponseReturnValue:
    actor = require_actor()
    services.ensure_can_create_campaigns(actor)
    form = CampaignForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            with transaction(session):
                campaign = services.create_campaign(
                    session, actor=actor, cover=_cover_upload(form), **form.campaign_values()
                )
        except DomainError as exc:
            attach_refusal(form, exc)
            return render_template("campaigns/form.html", form=form, campaign=None), 400
        flash(_("Your draft is saved. Submit it for review when it is ready."), "success")
        return redirect(url_for("campaigns.manage_campaign", public_id=campaign.public_id))
    status = 400 if form.is_submitted() else 200
    return render_template("campaigns/form.html", form=form, campaign=None), status


def _form_data_from(campaign: Campaign) -> dict[str, Any]:
    return {
        "title": campaign.title,
        "summary": campaign.summary,
        "story": campaign.story,
        "language": campaign.language,
        "goal": str(campaign.goal.major),
        "currency": campaign.currency,
        "ends_on": campaign.ends_on,
        "region": campaign.region,
        "category": campaign.category,
    }


@login_required
def edit_campaign(public_id: str) -> ResponseReturnValue:
    campaign = _organised_campaign(public_id)
    if campaign.state not in (CampaignState.DRAFT, CampaignState.IN_REVIEW, CampaignState.LIVE):
        raise Conflict(_("A closed or frozen campaign can no longer be edited."))
    form = CampaignForm(data=_form_data_from(campaign))
    if form.validate_on_submit():
        session = db_session()
        was_in_review = campaign.state == CampaignState.IN_REVIEW
        try:
            with transaction(session):
                services.update_campaign(
                    session,
                    actor=require_actor(),
                    campaign=campaign,
                    cover=_cover_upload(form),
                    **form.campaign_values(),
                )
        except DomainError as exc:
            attach_refusal(form, exc)
            return (
                render_template("campaigns/form.html", form=form, campaign=campaign),
                form_error_status(exc),
            )
        if was_in_review and campaign.state == CampaignState.DRAFT:
            flash(_("Saved. The changes took the campaign out of review; submit it again."), "info")
        else:
            flash(_("Your changes are saved."), "success")
        return redirect(url_for("campaigns.manage_campaign", public_id=campaign.public_id))
    status = 400 if form.is_submitted() else 200
    return render_template("campaigns/form.html", form=form, campaign=campaign), status


def _manage_page(
    campaign: Campaign,
    *,
    update_form: UpdateForm | None = None,
    invite_form: InviteForm | None = None,
    invitation_link: str | None = None,
    action_error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    from giving.payments.queries import late_gift_flags  # payments builds on campaigns

    return (
        render_template(
            "campaigns/manage.html",
            campaign=campaign,
            late_gifts=late_gift_flags(db_session(), [campaign.id]),
            host=host_of(db_session(), campaign),
            action_error=action_error,
            update_form=update_form or UpdateForm(prefix="update", formdata=None),
            invite_form=invite_form or InviteForm(prefix="invite", formdata=None),
            invitation_link=invitation_link,
            can_post_updates=campaign.state in (CampaignState.LIVE, CampaignState.CLOSED),
            can_invite=campaign.state
            in (CampaignState.DRAFT, CampaignState.IN_REVIEW, CampaignState.LIVE),
        ),
        status,
    )


@login_required
def manage_campaign(public_id: str) -> ResponseReturnValue:
    return _manage_page(_organised_campaign(public_id))


def _transition(public_id: str, action: Any, message: str) -> ResponseReturnValue:
    """Run a state change; a refusal shows on the campaign's page, beside what to do next
    (e.g. the link to choose a host), rather than on a bare error page."""
    campaign = _organised_campaign(public_id)
    EmptyForm().validate_on_submit()  # the CSRF token is checked app-wide before this runs
    session = db_session()
    try:
        with transaction(session):
            action(session, actor=require_actor(), campaign=campaign)
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        return _manage_page(campaign, action_error=exc.message, status=form_error_status(exc))
    flash(message, "success")
    return redirect(url_for("campaigns.manage_campaign", public_id=campaign.public_id))


@login_required
def submit_campaign(public_id: str) -> ResponseReturnValue:
    return _transition(
        public_id,
        services.submit_for_review,
        _("Submitted for review. An admin will look at it soon."),
    )


@login_required
def close_campaign(public_id: str) -> ResponseReturnValue:
    return _transition(public_id, services.close, _("The campaign is closed."))


@login_required
def post_update(public_id: str) -> ResponseReturnValue:
    campaign = _organised_campaign(public_id)
    form = UpdateForm(prefix="update")
    if form.validate_on_submit():
        session = db_session()
        try:
            with transaction(session):
                update = services.post_update(
                    session,
                    actor=require_actor(),
                    campaign=campaign,
                    title=form.title.data,
                    body=form.body.data,
                )
        except DomainError as exc:
            attach_refusal(form, exc)
            return _manage_page(campaign, update_form=form, status=form_error_status(exc))
        flash(_("Your update is published."), "success")
        return redirect(
            url_for("campaigns.show_campaign", slug=campaign.slug, _anchor=f"update-{update.id}")
        )
    return _manage_page(campaign, update_form=form, status=400)


@login_required
def invite_co_organiser(public_id: str) -> ResponseReturnValue:
    campaign = _organised_campaign(public_id)
    form = InviteForm(prefix="invite")
    if form.validate_on_submit():
        session = db_session()
        try:
            with transaction(session):
                _invitation, token = invitations.create_invitation(
                    session, actor=require_actor(), campaign=campaign, email=form.email.data
                )
        except DomainError as exc:
            attach_refusal(form, exc)
            return _manage_page(campaign, invite_form=form, status=form_error_status(exc))
        # Shown once, in this response only: it is not stored, flashed or logged anywhere.
        link = public_url("campaigns.accept_invitation", token=token)
        return _manage_page(campaign, invitation_link=link)
    return _manage_page(campaign, invite_form=form, status=400)


@login_required
def accept_invitation(token: str) -> ResponseReturnValue:
    actor = require_actor()
    session = db_session()
    invitation = invitations.find_invitation(session, token)
    form = EmptyForm()
    if form.validate_on_submit():
        with transaction(session):
            campaign = invitations.accept_invitation(session, actor=actor, token=token)
        flash(_("You now co-organise “%(title)s”.", title=campaign.title), "success")
        return redirect(url_for("campaigns.manage_campaign", public_id=campaign.public_id))
    problem: str | None = None
    status = 200
    try:
        invitations.check_invitation(invitation, actor=actor)
    except DomainError as exc:
        problem, status = exc.message, exc.status_code
    page = render_template(
        "campaigns/invitation.html", invitation=invitation, form=form, problem=problem
    )
    return page, status
