"""Auditor and admin pages: the auditor's dashboard and sign-offs, and granting access.

An auditor sees only the campaigns an admin granted them, while the grant lasts; anyone
else asking for the dashboard is told what it is for. Evidence originals are reached through
a logged redirect, so every download an auditor makes is in the download log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts.current import require_actor, require_admin
from giving.accounts.models import Role, User
from giving.auditors import services as auditor_grants
from giving.auditors.models import AuditorGrant
from giving.campaigns.models import Campaign
from giving.db import transaction, utcnow
from giving.disbursements.models import Disbursement, EvidenceFile
from giving.disbursements.queries import activity_of, evidence_by_token
from giving.errors import DomainError, NotFound, PermissionDenied
from giving.forms_util import attach_error
from giving.reports import auditors, services
from giving.reports.forms import GrantForm, RevokeForm, SignOffForm
from giving.reports.gather import find_campaign
from giving.reports.models import DownloadKind, ReportVersion
from giving.web import db_session, login_required

ACTIVITY_SHOWN = 30


@dataclass(frozen=True)
class AuditedCampaign:
    grant: AuditorGrant
    campaign: Campaign
    versions: list[ReportVersion]
    signed: set[int]  # version ids this auditor has signed off
    evidence: list[EvidenceFile]
    activity: list[Any]
    downloads: list[Any]


def _require_auditor() -> User:
    actor = require_actor()
    if not actor.has_role(Role.AUDITOR):
        raise PermissionDenied(
            _("The auditor dashboard is for accounts with the auditor role; ask an admin.")
        )
    return actor


def _audited(grant: AuditorGrant, actor: User) -> AuditedCampaign:
    session = db_session()
    campaign = grant.campaign
    versions = services.published_versions(session, campaign)
    signed = {s.version_id for v in versions for s in v.signoffs if s.auditor_id == actor.id}
    evidence = list(
        session.scalars(
            sa.select(EvidenceFile)
            .join(Disbursement, Disbursement.id == EvidenceFile.disbursement_id)
            .where(Disbursement.campaign_id == campaign.id)
            .order_by(EvidenceFile.id)
        )
    )
    return AuditedCampaign(
        grant=grant,
        campaign=campaign,
        versions=versions,
        signed=signed,
        evidence=evidence,
        activity=activity_of(session, campaign)[:ACTIVITY_SHOWN],
        downloads=auditors.downloads_of(session, campaign, limit=ACTIVITY_SHOWN),
    )


@login_required
def dashboard() -> ResponseReturnValue:
    actor = _require_auditor()
    grants = auditor_grants.active_grants(db_session(), actor)
    audited = [_audited(grant, actor) for grant in grants]
    return render_template(
        "reports/auditor.html",
        audited=audited,
        forms={
            version.id: sign_off_form(version.id)
            for item in audited
            for version in item.versions
            if version.id not in item.signed
        },
    )


def sign_off_form(version_id: int) -> SignOffForm:
    """One form per version on the dashboard; the prefix keeps their fields' ids apart."""
    return SignOffForm(prefix=f"v{version_id}")


@login_required
def sign_off(version_id: int) -> ResponseReturnValue:
    actor = _require_auditor()
    session = db_session()
    form = sign_off_form(version_id)
    version = services.get_version(session, version_id)
    if not form.validate_on_submit():
        flash(_("Write what you checked and what you found."), "error")
        return redirect(url_for("reports.dashboard"), code=303)
    try:
        with transaction(session):
            auditors.sign_off(session, actor=actor, version=version, statement=form.statement.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.dashboard"), code=303)
    flash(_("Your sign-off is recorded and published."), "success")
    return redirect(url_for("reports.dashboard"), code=303)


@login_required
def evidence_original(token: str) -> ResponseReturnValue:
    actor = _require_auditor()
    session = db_session()
    evidence = evidence_by_token(session, token)
    if evidence is None:
        raise NotFound(_("We could not find that file."))
    campaign = evidence.disbursement.campaign
    if not auditor_grants.has_auditor_access(session, actor, campaign):
        raise NotFound(_("We could not find that file."))
    if evidence.is_withheld:
        # Nothing can be downloaded, so nothing is logged: the page says why and since when.
        return redirect(url_for("disbursements.original_file", token=token), code=303)
    with transaction(session):
        auditors.log_download(
            session,
            actor=actor,
            campaign=campaign,
            kind=DownloadKind.EVIDENCE,
            subject=evidence.sha256,
        )
    return redirect(url_for("disbursements.original_file", token=token), code=303)


def _require_admin() -> User:
    return require_admin(_("Only admins can grant auditors access."))


def _grants_page(form: GrantForm, status: int = 200) -> ResponseReturnValue:
    now = utcnow()
    return render_template(
        "reports/grants.html",
        form=form,
        grants=auditor_grants.all_grants(db_session()),
        revoke_form=RevokeForm(),
        now=now,
    ), status


@login_required
def grants() -> ResponseReturnValue:
    actor = _require_admin()
    form = GrantForm()
    if not form.is_submitted():
        return _grants_page(form)
    if not form.validate():
        return _grants_page(form, 400)
    session = db_session()
    try:
        with transaction(session):
            auditor = auditor_grants.find_user_by_email(session, form.auditor_email.data)
            campaign = find_campaign(session, form.campaign.data.strip())
            expires = dt.datetime.combine(form.expires_on.data, dt.time(), tzinfo=dt.UTC)
            auditor_grants.grant_access(
                session,
                actor=actor,
                auditor=auditor,
                campaign=campaign,
                expires_at=expires,
                note=form.note.data or "",
            )
    except DomainError as exc:
        attach_error(form, exc)
        return _grants_page(form, exc.status_code if exc.status_code != 404 else 400)
    flash(
        _(
            "%(name)s can read %(campaign)s until %(date)s.",
            name=auditor.display_name,
            campaign=campaign.title,
            date=form.expires_on.data.isoformat(),
        ),
        "success",
    )
    return redirect(url_for("reports.grants"), code=303)


@login_required
def revoke_grant(grant_id: int) -> ResponseReturnValue:
    actor = _require_admin()
    session = db_session()
    if not RevokeForm().validate_on_submit():
        abort(400)
    try:
        with transaction(session):
            auditor_grants.revoke_access(
                session, actor=actor, grant=auditor_grants.get_grant(session, grant_id)
            )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.grants"), code=303)
    flash(_("The auditor's access has ended."), "success")
    return redirect(url_for("reports.grants"), code=303)
