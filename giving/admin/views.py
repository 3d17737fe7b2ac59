"""Admin pages: the campaign review queue, freezing and featuring campaigns, user roles.

Every route here is for admins only: the blueprint checks that before any handler runs, so a
new page cannot forget it. Each action calls one service, which writes the audit log.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts import services as accounts
from giving.accounts.current import require_actor, require_admin
from giving.accounts.models import Role
from giving.admin.forms import (
    ROLE_LABELS,
    AccountActiveForm,
    CampaignStateFilter,
    FeatureForm,
    FreezeForm,
    RejectForm,
    RoleForm,
    UserSearchForm,
)
from giving.campaigns import queries
from giving.campaigns import services as campaigns
from giving.campaigns.models import Campaign
from giving.campaigns.queries import campaign_or_404
from giving.db import transaction
from giving.errors import DomainError
from giving.forms_util import attach_error
from giving.hosts.services import host_of
from giving.web import db_session

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only() -> None:
    require_admin(_("Only admins can open the admin pages."))


def _campaign(public_id: str) -> Campaign:
    return campaign_or_404(db_session(), public_id)


# --- review queue ------------------------------------------------------------------------


def _reject_form(campaign: Campaign, *, bound: bool = False) -> RejectForm:
    prefix = f"reject-{campaign.public_id}"
    return RejectForm(prefix=prefix) if bound else RejectForm(prefix=prefix, formdata=None)


@bp.route("/reviews")
def review_queue() -> ResponseReturnValue:
    return _review_page()


def _review_page(failed: RejectForm | None = None, failed_id: str = "") -> ResponseReturnValue:
    """The queue; after a refused rejection, that campaign's form keeps its errors."""
    session = db_session()
    pending = queries.review_queue(session)
    forms = {
        c.public_id: failed if failed is not None and failed_id == c.public_id else _reject_form(c)
        for c in pending
    }
    page = render_template(
        "admin/reviews.html",
        campaigns=pending,
        reject_forms=forms,
        hosts={c.id: host_of(session, c) for c in pending},
    )
    return page, 400 if failed is not None else 200


@bp.route("/campaigns/<public_id>/approve", methods=["POST"])
def approve(public_id: str) -> ResponseReturnValue:
    campaign = _campaign(public_id)
    session = db_session()
    with transaction(session):
        campaigns.approve(session, actor=require_actor(), campaign=campaign)
    flash(_("“%(title)s” is live.", title=campaign.title), "success")
    return redirect(url_for("admin.review_queue"))


@bp.route("/campaigns/<public_id>/reject", methods=["POST"])
def reject(public_id: str) -> ResponseReturnValue:
    campaign = _campaign(public_id)
    form = _reject_form(campaign, bound=True)
    if _done_with_reason(campaigns.reject, campaign, form):
        flash(_("“%(title)s” went back to its organisers.", title=campaign.title), "info")
        return redirect(url_for("admin.review_queue"))
    return _review_page(failed=form, failed_id=campaign.public_id)


def _done_with_reason(
    action: Callable[..., object], campaign: Campaign, form: RejectForm | FreezeForm
) -> bool:
    """Run a campaign ``action`` that needs the form's reason, in one transaction: True if
    it was done, False if the form, or the service's refusal of the reason, is to be shown."""
    if not form.validate_on_submit():
        return False
    session = db_session()
    try:
        with transaction(session):
            action(session, actor=require_actor(), campaign=campaign, reason=form.reason.data)
    except DomainError as exc:
        if exc.field != "reason":
            raise
        attach_error(form, exc)
        return False
    return True


# --- campaigns ---------------------------------------------------------------------------


def _freeze_form(campaign: Campaign, *, bound: bool = False) -> FreezeForm:
    prefix = f"freeze-{campaign.public_id}"
    return FreezeForm(prefix=prefix) if bound else FreezeForm(prefix=prefix, formdata=None)


@bp.route("/campaigns")
def campaign_list() -> ResponseReturnValue:
    return _campaigns_page()


def _campaigns_page(failed: FreezeForm | None = None, failed_id: str = "") -> ResponseReturnValue:
    filter_form = CampaignStateFilter(request.args)
    if not filter_form.validate():
        abort(400, description=_("Choose a state from the list."))
    listed = queries.campaigns_for_admin(db_session(), state=filter_form.state.data or "")
    freeze_forms = {
        c.public_id: failed if failed is not None and failed_id == c.public_id else _freeze_form(c)
        for c in listed
    }
    page = render_template(
        "admin/campaigns.html",
        campaigns=listed,
        filter_form=filter_form,
        freeze_forms=freeze_forms,
    )
    return page, 400 if failed is not None else 200


def _back_to_campaigns() -> ResponseReturnValue:
    return redirect(url_for("admin.campaign_list"))


@bp.route("/campaigns/<public_id>/freeze", methods=["POST"])
def freeze(public_id: str) -> ResponseReturnValue:
    campaign = _campaign(public_id)
    form = _freeze_form(campaign, bound=True)
    if _done_with_reason(campaigns.freeze, campaign, form):
        flash(_("“%(title)s” is frozen.", title=campaign.title), "info")
        return _back_to_campaigns()
    return _campaigns_page(failed=form, failed_id=campaign.public_id)


@bp.route("/campaigns/<public_id>/unfreeze", methods=["POST"])
def unfreeze(public_id: str) -> ResponseReturnValue:
    campaign = _campaign(public_id)
    session = db_session()
    with transaction(session):
        campaigns.unfreeze(session, actor=require_actor(), campaign=campaign)
    flash(_("“%(title)s” is no longer frozen.", title=campaign.title), "success")
    return _back_to_campaigns()


@bp.route("/campaigns/<public_id>/feature", methods=["POST"])
def feature(public_id: str) -> ResponseReturnValue:
    campaign = _campaign(public_id)
    form = FeatureForm()
    if not form.validate_on_submit():
        abort(400, description=_("Choose whether to feature the campaign."))
    featured = form.featured.data == "1"
    session = db_session()
    with transaction(session):
        campaigns.set_featured(session, actor=require_actor(), campaign=campaign, featured=featured)
    if featured:
        flash(_("“%(title)s” is featured on the home page.", title=campaign.title), "success")
    else:
        flash(_("“%(title)s” is no longer featured.", title=campaign.title), "info")
    return _back_to_campaigns()


# --- users and roles ---------------------------------------------------------------------


@bp.route("/users")
def users() -> ResponseReturnValue:
    search = UserSearchForm(request.args)
    if not search.validate():
        abort(400, description=_("Search with at most 100 characters."))
    people = accounts.list_users(db_session(), query=search.q.data or "")
    role_forms = {
        person.id: RoleForm(prefix=f"role-{person.id}", formdata=None) for person in people
    }
    return render_template(
        "admin/users.html",
        people=people,
        search=search,
        role_forms=role_forms,
        role_labels=ROLE_LABELS,
    )


def _role_change(user_id: int, *, grant: bool) -> ResponseReturnValue:
    # Granting uses a per-row select (prefixed for unique ids); revoking posts a plain "role".
    form = RoleForm(prefix=f"role-{user_id}") if grant else RoleForm()
    if not form.validate_on_submit():
        abort(400, description=_("Choose a role from the list."))
    role = Role(form.role.data)
    session = db_session()
    with transaction(session):
        change = accounts.grant_role if grant else accounts.revoke_role
        person = change(session, actor=require_actor(), user_id=user_id, role=role)
    label = str(ROLE_LABELS[role])
    if grant:
        flash(_("%(name)s is now: %(role)s.", name=person.display_name, role=label), "success")
    else:
        flash(_("%(name)s is no longer: %(role)s.", name=person.display_name, role=label), "info")
    return redirect(url_for("admin.users", q=request.args.get("q") or None))


@bp.route("/users/<int:user_id>/roles/grant", methods=["POST"])
def grant_role(user_id: int) -> ResponseReturnValue:
    return _role_change(user_id, grant=True)


@bp.route("/users/<int:user_id>/roles/revoke", methods=["POST"])
def revoke_role(user_id: int) -> ResponseReturnValue:
    return _role_change(user_id, grant=False)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def set_account_active(user_id: int) -> ResponseReturnValue:
    form = AccountActiveForm()
    if not form.validate_on_submit():
        abort(400, description=_("Choose whether to disable or enable the account."))
    active = form.active.data == "1"
    session = db_session()
    with transaction(session):
        person = accounts.set_account_active(
            session, actor=require_actor(), user_id=user_id, active=active
        )
    if active:
        flash(_("%(name)s can log in again.", name=person.display_name), "success")
    else:
        flash(
            _("%(name)s is disabled and logged out everywhere.", name=person.display_name), "info"
        )
    return redirect(url_for("admin.users", q=request.args.get("q") or None))
