"""Host organisation pages: admins register hosts and members; organisers choose a host;
members see the campaigns their organisation hosts and what waits for their approval."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms import SelectChoice

from giving.accounts.current import require_actor, require_admin
from giving.campaigns import hosting
from giving.campaigns.models import Campaign
from giving.campaigns.queries import campaign_or_404
from giving.db import transaction
from giving.disbursements.queries import pending_for_decider
from giving.errors import DomainError, NotFound
from giving.forms_util import attach_refusal, form_error_status
from giving.hosts import services
from giving.hosts.forms import ChooseHostForm, HostForm, MemberForm
from giving.hosts.models import HostOrganisation
from giving.payments.queries import late_gift_flags
from giving.web import db_session, login_required

bp = Blueprint("hosts", __name__)


def _admin_only() -> None:
    require_admin(_("Only admins can manage host organisations."))


@bp.route("/admin/hosts")
@login_required
def list_hosts() -> ResponseReturnValue:
    _admin_only()
    return render_template("hosts/list.html", hosts=services.list_hosts(db_session()))


@bp.route("/admin/hosts/new", methods=["GET", "POST"])
@login_required
def new_host() -> ResponseReturnValue:
    _admin_only()
    form = HostForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            with transaction(session):
                host = services.register_host(
                    session,
                    actor=require_actor(),
                    name=form.name.data,
                    registration_number=form.registration_number.data,
                    country=form.country.data,
                    contact_email=form.contact_email.data,
                    contact_phone=form.contact_phone.data,
                )
        except DomainError as exc:
            attach_refusal(form, exc)
            return render_template("hosts/form.html", form=form), form_error_status(exc)
        flash(_("%(name)s is registered. Add its finance members next.", name=host.name), "success")
        return redirect(url_for("hosts.show_host", host_id=host.id))
    return render_template("hosts/form.html", form=form), 400 if form.is_submitted() else 200


def _host_page(
    host: HostOrganisation, form: MemberForm | None = None, status: int = 200
) -> ResponseReturnValue:
    session = db_session()
    page = render_template(
        "hosts/show.html",
        host=host,
        form=form or MemberForm(formdata=None),
        campaigns=hosting.campaigns_hosted_by(session, host),
    )
    return page, status


@bp.route("/admin/hosts/<int:host_id>")
@login_required
def show_host(host_id: int) -> ResponseReturnValue:
    _admin_only()
    return _host_page(services.get_host(db_session(), host_id))


@bp.route("/admin/hosts/<int:host_id>/members", methods=["POST"])
@login_required
def add_member(host_id: int) -> ResponseReturnValue:
    _admin_only()
    session = db_session()
    host = services.get_host(session, host_id)
    form = MemberForm()
    if not form.validate_on_submit():
        return _host_page(host, form, 400)
    try:
        with transaction(session):
            member = services.add_member(
                session,
                actor=require_actor(),
                host=host,
                email=form.email.data,
                role=form.role.data,
            )
    except DomainError as exc:
        attach_refusal(form, exc)
        return _host_page(host, form, form_error_status(exc))
    flash(
        _(
            "%(name)s is now a member (%(role)s).",
            name=member.user.display_name,
            role=member.role_enum.label,
        ),
        "success",
    )
    return redirect(url_for("hosts.show_host", host_id=host.id))


@bp.route("/admin/hosts/<int:host_id>/members/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_member(host_id: int, user_id: int) -> ResponseReturnValue:
    _admin_only()
    session = db_session()
    host = services.get_host(session, host_id)
    with transaction(session):
        services.remove_member(session, actor=require_actor(), host=host, user_id=user_id)
    flash(_("The member was removed."), "success")
    return redirect(url_for("hosts.show_host", host_id=host.id))


def _managed_campaign(public_id: str) -> Campaign:
    """A campaign the actor organises (or any, for an admin): 404 if unknown, 403 if not theirs."""
    actor = require_actor()
    campaign = campaign_or_404(db_session(), public_id)
    if not (campaign.is_organiser(actor) or actor.is_admin):
        abort(403, description=_("Only this campaign's organisers can choose its host."))
    return campaign


@bp.route("/my/campaigns/<public_id>/host", methods=["GET", "POST"])
@login_required
def choose_host(public_id: str) -> ResponseReturnValue:
    session = db_session()
    campaign = _managed_campaign(public_id)
    current = services.host_of(session, campaign)
    hosts = services.list_hosts(session)
    form = ChooseHostForm(data={"host": current.id if current else None})
    form.host.choices = [
        SelectChoice(h.id, f"{h.name} ({h.country}, {h.registration_number})") for h in hosts
    ]
    if form.validate_on_submit():
        host = services.get_host(session, form.host.data)
        try:
            with transaction(session):
                hosting.assign_host(session, actor=require_actor(), campaign=campaign, host=host)
        except DomainError as exc:
            attach_refusal(form, exc)
            page = render_template(
                "hosts/choose.html", campaign=campaign, form=form, current=current, hosts=hosts
            )
            return page, form_error_status(exc)
        flash(_("%(name)s will host this campaign.", name=host.name), "success")
        return redirect(url_for("campaigns.manage_campaign", public_id=campaign.public_id))
    status = 400 if form.is_submitted() else 200
    page = render_template(
        "hosts/choose.html", campaign=campaign, form=form, current=current, hosts=hosts
    )
    return page, status


@bp.route("/hosts/mine")
@login_required
def my_hosts() -> ResponseReturnValue:
    """The organisations the actor belongs to, their campaigns and requests to decide."""
    session = db_session()
    actor = require_actor()
    memberships = services.memberships(session, actor)
    if not memberships:
        raise NotFound(_("You are not a member of any host organisation."))
    hosted = {m.host_id: hosting.campaigns_hosted_by(session, m.host) for m in memberships}
    finance_campaigns = [
        c.id for m in memberships if m.role == "finance" for c in hosted[m.host_id]
    ]
    return render_template(
        "hosts/mine.html",
        memberships=memberships,
        hosted=hosted,
        pending=pending_for_decider(session, finance_campaigns),
        late_gifts=late_gift_flags(session, [c.id for cs in hosted.values() for c in cs]),
    )
