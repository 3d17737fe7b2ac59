"""The registry's pages: list, register, read, edit, erase, import, access log, links.

Every handler parses its input, calls one service and renders or redirects, and commits,
reads too, because reading a child's record writes the access log. URLs are mapped in
``giving.impact.views``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts.current import current_actor
from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.db import transaction
from giving.disbursements.queries import disbursement_in
from giving.disbursements.uploads import evidence_storage
from giving.errors import DomainError
from giving.forms_util import attach_refusal, form_error_status
from giving.i18n import current_locale
from giving.impact import access, importer, links, records, services
from giving.impact import queries as impact_queries
from giving.impact.fields import ChildValues, clean_code
from giving.impact.forms import ChildForm, EraseForm, ImportForm, LinkChildrenForm
from giving.impact.keyring import field_cipher
from giving.impact.models import AccessKind
from giving.web import db_session


def _registry(public_id: str) -> Campaign:
    return access.registry_campaign(db_session(), public_id, actor=current_actor())


def _page(template: str, campaign: Campaign, **context: Any) -> str:
    return render_template(
        template,
        campaign=campaign,
        can_manage=access.can_manage_registry(current_actor(), campaign),
        **context,
    )


# --- the registry ------------------------------------------------------------------------


def registry(public_id: str) -> ResponseReturnValue:
    campaign = _registry(public_id)
    after, before = _code_arg("after"), _code_arg("before")
    session = db_session()
    with transaction(session):
        page = services.list_children(
            session,
            actor=current_actor(),
            campaign=campaign,
            after=after,
            before=before,
            per_page=services.REGISTRY_PAGE_SIZE,
        )
    total = impact_queries.registered_count(session, campaign.id)
    return _page("impact/registry.html", campaign, page=page, total=total)


def _code_arg(name: str) -> str | None:
    """A page key: the code of the child the page starts after (or ends before)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        code = clean_code(raw, field=name)
    except DomainError as exc:
        abort(400, description=exc.message)
    if code is None:
        abort(400, description=_("“%(name)s” must be a child's code.", name=name))
    return code


def new_child(public_id: str) -> ResponseReturnValue:
    campaign = _registry(public_id)
    session = db_session()
    access.require_manager(session, current_actor(), campaign)
    form = ChildForm()
    if form.validate_on_submit():
        try:
            with transaction(session):
                child = services.register_child(
                    session,
                    actor=current_actor(),
                    campaign=campaign,
                    values=form.child_values(),
                    cipher=field_cipher(),
                )
        except DomainError as exc:
            attach_refusal(form, exc)
            return _page(
                "impact/child_form.html", campaign, form=form, child=None
            ), form_error_status(exc)
        flash(_("Child %(code)s registered.", code=child.code), "success")
        return redirect(url_for("impact.registry", public_id=campaign.public_id))
    status = 400 if form.is_submitted() else 200
    return _page("impact/child_form.html", campaign, form=form, child=None), status


def show_child(public_id: str, ref: str) -> ResponseReturnValue:
    campaign = _registry(public_id)
    session = db_session()
    with transaction(session):
        record = services.read_child(
            session, actor=current_actor(), campaign=campaign, ref=ref, cipher=field_cipher()
        )
    return _page("impact/child.html", campaign, record=record, erase_form=EraseForm())


def edit_child(public_id: str, ref: str) -> ResponseReturnValue:
    campaign = _registry(public_id)
    session = db_session()
    access.require_manager(session, current_actor(), campaign)
    if request.method == "GET":
        with transaction(session):
            record = services.read_child(
                session,
                actor=current_actor(),
                campaign=campaign,
                ref=ref,
                cipher=field_cipher(),
                kind=AccessKind.EDIT_FORM,
            )
        form = ChildForm(data=_data(records.values_from_record(record)))
        return _page("impact/child_form.html", campaign, form=form, child=record)
    form = ChildForm()
    if form.validate_on_submit():
        try:
            with transaction(session):
                services.update_child(
                    session,
                    actor=current_actor(),
                    campaign=campaign,
                    ref=ref,
                    values=form.child_values(),
                    cipher=field_cipher(),
                    evidence_storage=evidence_storage(),
                )
        except DomainError as exc:
            attach_refusal(form, exc)
            return _page(
                "impact/child_form.html", campaign, form=form, child=None
            ), form_error_status(exc)
        flash(_("The record is saved."), "success")
        return redirect(url_for("impact.show_child", public_id=public_id, ref=ref))
    return _page("impact/child_form.html", campaign, form=form, child=None), 400


def _data(values: ChildValues) -> dict[str, Any]:
    return {
        "code": values.code,
        "age_band": values.age_band,
        "sex": values.sex,
        "province": values.province,
        "city": values.city,
        "needs": list(values.needs),
        "needs_detail": values.needs_detail,
        "consent": values.consent,
        "consent_date": values.consent_date,
        "notes": values.notes,
    }


def erase_child(public_id: str, ref: str) -> ResponseReturnValue:
    campaign = _registry(public_id)
    session = db_session()
    access.require_manager(session, current_actor(), campaign)
    form = EraseForm()
    if not form.validate_on_submit():
        flash(_("Tick the box to confirm the erasure."), "error")
        return redirect(url_for("impact.show_child", public_id=public_id, ref=ref))
    with transaction(session):
        services.erase_child(
            session,
            actor=current_actor(),
            campaign=campaign,
            ref=ref,
            evidence_storage=evidence_storage(),
        )
    flash(_("The child's record is erased."), "success")
    return redirect(url_for("impact.registry", public_id=public_id))


def import_children(public_id: str) -> ResponseReturnValue:
    campaign = _registry(public_id)
    session = db_session()
    access.require_manager(session, current_actor(), campaign)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.stream.read(importer.MAX_IMPORT_BYTES + 1) if upload else b""
        try:
            with transaction(session):
                children = importer.import_children(
                    session,
                    actor=current_actor(),
                    campaign=campaign,
                    data=data,
                    cipher=field_cipher(),
                )
        except importer.ImportRejected as exc:
            return _page("impact/import.html", campaign, form=form, rejected=exc), 400
        except DomainError as exc:
            attach_refusal(form, exc)
            return _page(
                "impact/import.html", campaign, form=form, rejected=None
            ), form_error_status(exc)
        flash(_("%(count)s children imported.", count=len(children)), "success")
        return redirect(url_for("impact.registry", public_id=public_id))
    status = 400 if form.is_submitted() else 200
    return _page("impact/import.html", campaign, form=form, rejected=None), status


def import_template(public_id: str) -> ResponseReturnValue:
    _registry(public_id)
    response = current_app.response_class(
        "\ufeff" + importer.template_csv(current_locale()), mimetype="text/csv"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="children-template.csv"'
    return response


def access_log(public_id: str) -> ResponseReturnValue:
    campaign = _registry(public_id)
    session = db_session()
    rows = impact_queries.access_log(session, campaign.id)
    ids = {row.actor_id for row in rows}
    readers = {
        user.id: user.display_name
        for user in session.scalars(sa.select(User).where(User.id.in_(ids)))
    }
    return _page("impact/access_log.html", campaign, rows=rows, readers=readers)


# --- links from disbursements -------------------------------------------------------------


def link_children(public_id: str, disbursement_id: int) -> ResponseReturnValue:
    campaign = _registry(public_id)
    session = db_session()
    access.require_manager(session, current_actor(), campaign)
    disbursement = disbursement_in(session, campaign, disbursement_id)
    form = LinkChildrenForm()
    target = url_for(
        "disbursements.show_request", public_id=public_id, disbursement_id=disbursement_id
    )
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(target)
    try:
        with transaction(session):
            linked = links.set_disbursement_children(
                session,
                actor=current_actor(),
                disbursement=disbursement,
                refs=form.children.data or [],
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        flash(exc.message, "error")
        return redirect(target)
    flash(_("This payment now lists %(count)s children.", count=len(linked)), "success")
    return redirect(target)
