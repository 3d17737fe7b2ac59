"""Evidence on the campaign's books: adding files to a request, publishing a redacted copy,
taking it down, and recording that a file shows a child.

The same readers and refusals as ``finance_pages``: each handler parses its form, calls one
service and redirects to the request page, or renders it again with the error beside the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts.current import require_actor
from giving.campaigns.models import Campaign
from giving.db import transaction
from giving.disbursements import queries, services
from giving.disbursements.finance_pages import (
    books_campaign,
    detail_page,
    detail_url,
)
from giving.disbursements.forms import (
    EvidenceForm,
    RedactedCopyForm,
    ShowsChildrenForm,
    WithdrawCopyForm,
)
from giving.disbursements.models import EvidenceFile
from giving.disbursements.uploads import (
    attach_upload_error,
    evidence_storage,
    max_evidence_bytes,
    slot_uploads,
    uploads,
)
from giving.errors import DomainError, NotFound
from giving.forms_util import attach_error, form_error_status
from giving.web import db_session, login_required


@login_required
def add_evidence(public_id: str, disbursement_id: int) -> ResponseReturnValue:
    campaign = books_campaign(public_id)
    session = db_session()
    disbursement = queries.disbursement_in(session, campaign, disbursement_id)
    form = EvidenceForm()
    if not form.validate_on_submit():
        return detail_page(campaign, disbursement, evidence_form=form, status=400)
    evidence, places = slot_uploads(form.evidence.entries)
    try:
        with transaction(session):
            services.add_evidence(
                session,
                actor=require_actor(),
                disbursement=disbursement,
                evidence=evidence,
                storage=evidence_storage(),
                max_bytes=max_evidence_bytes(),
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        session.expire_all()
        disbursement = queries.disbursement_in(session, campaign, disbursement_id)
        attach_upload_error(form, exc, places)
        return detail_page(
            campaign, disbursement, evidence_form=form, status=form_error_status(exc)
        )
    flash(_("The evidence is added."), "success")
    return redirect(detail_url(disbursement))


def _evidence_in(campaign: Campaign, token: str) -> EvidenceFile:
    evidence = queries.evidence_by_token(db_session(), token)
    if evidence is None or evidence.disbursement.campaign_id != campaign.id:
        raise NotFound(_("We could not find that file."))
    return evidence


@login_required
def publish_redacted(public_id: str, token: str) -> ResponseReturnValue:
    campaign = books_campaign(public_id)
    session = db_session()
    evidence = _evidence_in(campaign, token)
    disbursement = evidence.disbursement
    form = RedactedCopyForm(prefix=f"redacted-{evidence.id}")
    upload = uploads([form.file.data])
    if not form.validate_on_submit() or not upload:
        if not upload:
            form.file.errors = [*form.file.errors, _("Choose the redacted file.")]
        return detail_page(campaign, disbursement, redacted_forms={evidence.id: form}, status=400)
    try:
        with transaction(session):
            services.publish_redacted(
                session,
                actor=require_actor(),
                evidence=evidence,
                upload=upload[0],
                caption=form.caption.data or "",
                storage=evidence_storage(),
                max_bytes=max_evidence_bytes(),
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        session.expire_all()
        disbursement = queries.disbursement_in(session, campaign, disbursement.id)
        attach_error(form, exc)
        return detail_page(
            campaign,
            disbursement,
            redacted_forms={evidence.id: form},
            status=form_error_status(exc),
        )
    flash(_("The redacted copy is published beside the original's digest."), "success")
    return redirect(detail_url(disbursement))


def _correct_evidence(
    public_id: str,
    token: str,
    form_class: type[WithdrawCopyForm] | type[ShowsChildrenForm],
    prefix: str,
    forms_keyword: str,
    action: Callable[[EvidenceFile, Any], EvidenceFile],
    done: Callable[[EvidenceFile], str],
) -> ResponseReturnValue:
    """Taking a public copy down and declaring a child share everything but the service."""
    campaign = books_campaign(public_id)
    session = db_session()
    evidence = _evidence_in(campaign, token)
    disbursement_id = evidence.disbursement_id
    form = form_class(prefix=f"{prefix}-{evidence.id}")
    status = 400
    if form.validate_on_submit():
        try:
            with transaction(session):
                action(evidence, form)
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            session.expire_all()
            attach_error(form, exc)
            status = form_error_status(exc)
        else:
            flash(done(evidence), "success")
            return redirect(detail_url(evidence.disbursement))
    disbursement = queries.disbursement_in(session, campaign, disbursement_id)
    shown: dict[str, Any] = {forms_keyword: {evidence.id: form}}
    return detail_page(campaign, disbursement, status=status, **shown)


@login_required
def withdraw_public_copy(public_id: str, token: str) -> ResponseReturnValue:
    return _correct_evidence(
        public_id,
        token,
        WithdrawCopyForm,
        "withdraw",
        "withdraw_forms",
        lambda evidence, form: services.withdraw_public_copy(
            db_session(),
            actor=require_actor(),
            evidence=evidence,
            reason=form.reason.data or "",
            storage=evidence_storage(),
        ),
        lambda _evidence: _("The public copy is taken down; the original's digest stays public."),
    )


@login_required
def declare_shows_children(public_id: str, token: str) -> ResponseReturnValue:
    return _correct_evidence(
        public_id,
        token,
        ShowsChildrenForm,
        "shows-children",
        "children_forms",
        lambda evidence, form: services.declare_shows_children(
            db_session(),
            actor=require_actor(),
            evidence=evidence,
            children=form.children.data or [],
            storage=evidence_storage(),
        ),
        lambda evidence: (
            _("The file is recorded as showing a child; without recorded consent it is withheld.")
            if evidence.is_withheld
            else _("The file is recorded as showing a child and will never be published.")
        ),
    )
