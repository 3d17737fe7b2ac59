"""Pages anyone can use: transparency page, downloads, verification, render progress.

Every download (report, CSV, JSON lines, IATI XML, checkpoint) is written to the download log
in the same transaction that serves it. Publishing is here too, because it starts from the
transparency page; the service checks that the actor is an organiser or the host.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import IO, Any

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts.current import current_actor, require_actor
from giving.campaigns import queries as campaign_queries
from giving.campaigns.models import Campaign
from giving.config import current_settings
from giving.db import transaction
from giving.errors import Conflict, DomainError, ValidationError
from giving.forms_util import attach_error
from giving.ledger.keys import load_signing_key
from giving.ledger.services import latest_checkpoint
from giving.ledger.tree import log_size
from giving.reports import auditors, jobs, services
from giving.reports.entries import entry_rows
from giving.reports.exports import write_csv
from giving.reports.forms import PublishForm, VerifyForm
from giving.reports.gather import has_entries, load_proof_tree
from giving.reports.iati import activity_xml
from giving.reports.labels import stage_label
from giving.reports.models import DownloadKind, ReportRenderJob, ReportVersion
from giving.reports.scan import jsonl_line
from giving.web import db_session, login_required

VERIFY_MAX_BYTES = 200 * 1024 * 1024
_EXPORTS = {
    "ledger.csv": (DownloadKind.CSV, "text/csv"),
    "ledger.jsonl": (DownloadKind.JSONL, "application/x-ndjson"),
    "iati-activity.xml": (DownloadKind.IATI, "application/xml"),
    "checkpoint.txt": (DownloadKind.CHECKPOINT, "text/plain"),
}


@dataclass(frozen=True)
class VersionGroup:
    """One version number with its files (one per language)."""

    version: int
    report_date: Any
    tree_size: int
    files: list[ReportVersion]


def version_groups(versions: list[ReportVersion]) -> list[VersionGroup]:
    groups: dict[int, VersionGroup] = {}
    for row in versions:
        group = groups.setdefault(
            row.version, VersionGroup(row.version, row.report_date, row.tree_size, [])
        )
        group.files.append(row)
    return list(groups.values())


def _campaign(slug: str) -> Campaign:
    return campaign_queries.campaign_by_slug(db_session(), slug, actor=current_actor())


def _page(campaign: Campaign, form: PublishForm | None = None) -> str:
    session = db_session()
    actor = current_actor()
    may_publish = services.can_publish(session, actor, campaign)
    return render_template(
        "reports/transparency.html",
        campaign=campaign,
        groups=version_groups(services.published_versions(session, campaign)),
        signoffs=auditors.signoffs_of(session, campaign),
        jobs=services.recent_jobs(session, campaign) if may_publish else [],
        may_publish=may_publish,
        form=form or PublishForm(),
        checkpoint=latest_checkpoint(session),
        has_entries=has_entries(session, campaign),
    )


def transparency(slug: str) -> ResponseReturnValue:
    return _page(_campaign(slug))


@login_required
def publish(slug: str) -> ResponseReturnValue:
    session = db_session()
    campaign = _campaign(slug)
    form = PublishForm()
    if not form.validate_on_submit():
        return _page(campaign, form), 400
    app_settings = current_settings()
    try:
        with transaction(session):
            created = services.request_publication(
                session,
                actor=require_actor(),
                campaign=campaign,
                languages=form.languages.data or [],
                settings=app_settings,
                key=load_signing_key(app_settings),
            )
            ids = [job.id for job in created]
    except (ValidationError, Conflict) as exc:
        # Shown on the form; a refusal (403) gets the error page with its message instead.
        attach_error(form, exc)
        return _page(campaign, form), exc.status_code
    mode = jobs.enqueue(current_app._get_current_object(), ids)  # type: ignore[attr-defined]
    if mode == "rq":
        flash(_("The report is being rendered; this page shows its progress."), "info")
    else:
        flash(_("The report version is published."), "success")
    return redirect(url_for("reports.transparency", slug=campaign.slug), code=303)


def download(version_id: int) -> ResponseReturnValue:
    session = db_session()
    version = services.get_version(session, version_id)
    actor = current_actor()
    if not campaign_queries.can_view(version.campaign, actor):
        abort(404)
    with transaction(session):
        auditors.log_download(
            session,
            actor=actor,
            campaign=version.campaign,
            kind=DownloadKind.REPORT,
            version=version,
            subject=version.sha256,
        )
    try:
        handle = services.report_storage(current_app).open(version.file_key)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        handle,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=services.report_filename(version),
        etag=version.sha256,
        max_age=3600,
    )
    return response


def _spooled() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)


def export_download(slug: str, kind: str) -> ResponseReturnValue:
    if kind not in _EXPORTS:
        abort(404)
    session = db_session()
    campaign = _campaign(slug)
    download_kind, mimetype = _EXPORTS[kind]
    handle = _spooled()
    try:
        _write_export(session, campaign, download_kind, kind, handle)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return send_file(
        handle,
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"{campaign.public_id}-{kind}",
        max_age=0,
    )


def _write_export(
    session: Any, campaign: Campaign, download_kind: DownloadKind, kind: str, handle: IO[bytes]
) -> None:
    """Write one export into ``handle`` and log the download, in one transaction."""
    with transaction(session):
        if download_kind is DownloadKind.CSV:
            size = log_size(session)
            write_csv(entry_rows(session, campaign=campaign.public_id, before_seq=size), handle)
        elif download_kind is DownloadKind.IATI:
            handle.write(activity_xml(session, campaign, current_settings()))
        else:
            checkpoint = latest_checkpoint(session)
            if checkpoint is None:
                raise Conflict(_("No ledger checkpoint has been signed yet; try again later."))
            if download_kind is DownloadKind.CHECKPOINT:
                handle.write(checkpoint.note.encode("utf-8"))
            else:
                tree = load_proof_tree(session, checkpoint.tree_size)
                for entry in entry_rows(
                    session, campaign=campaign.public_id, before_seq=checkpoint.tree_size
                ):
                    handle.write(
                        jsonl_line(entry, checkpoint.tree_size, tree.proof_text(entry.seq))
                    )
        auditors.log_download(
            session, actor=current_actor(), campaign=campaign, kind=download_kind, subject=kind
        )


def job_status(job_id: int) -> ResponseReturnValue:
    job = db_session().get(ReportRenderJob, job_id)
    if job is None or not campaign_queries.can_view(job.campaign, current_actor()):
        abort(404)
    data = jobs.job_status(job)
    data["stage_label"] = stage_label(job.stage)
    data["page_url"] = url_for("reports.transparency", slug=job.campaign.slug)
    response = jsonify(data)
    response.cache_control.no_store = True
    return response


def _verify_request(form: VerifyForm | None) -> services.Verification | None:
    """Run the verification the request asks for (file wins over a typed SHA-256)."""
    session = db_session()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return services.verify_file(session, upload.stream.read(VERIFY_MAX_BYTES + 1))
    text = (form.sha256.data if form is not None else None) or request.values.get("sha256", "")
    if request.is_json and isinstance(request.json, dict):
        text = str(request.json.get("sha256", ""))
    if not text:
        return None
    return services.verify_sha256(session, text)


def verify_page() -> ResponseReturnValue:
    request.max_content_length = VERIFY_MAX_BYTES + 1024 * 1024
    form = VerifyForm()
    result = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("reports/verify.html", form=form, result=None), 400
        try:
            result = _verify_request(form)
        except DomainError as exc:
            attach_error(form, exc)
            return render_template("reports/verify.html", form=form, result=None), 400
        if result is None:
            form.form_errors.append(_("Choose the report file, or type its SHA-256."))
            status = 400
    return render_template(
        "reports/verify.html", form=form, result=result, campaign_hint=request.args.get("campaign")
    ), status


def verify_api() -> ResponseReturnValue:
    request.max_content_length = VERIFY_MAX_BYTES + 1024 * 1024
    result = _verify_request(None)
    if result is None:
        return jsonify(
            {
                "error": _("That request was not understood"),
                "message": _("Send the report as a file named 'file', or a 'sha256'."),
                "status": 400,
            }
        ), 400
    return jsonify(verification_json(result))


def verification_json(result: services.Verification) -> dict[str, Any]:
    data: dict[str, Any] = {"sha256": result.sha256, "published": result.published}
    version = result.version
    if version is not None:
        campaign = version.campaign
        data.update(
            {
                "campaign": {
                    "public_id": campaign.public_id,
                    "title": campaign.title,
                    "transparency_url": url_for(
                        "reports.transparency", slug=campaign.slug, _external=True
                    ),
                },
                "version": version.version,
                "language": version.language,
                "report_date": version.report_date.isoformat(),
                "published_at": version.published_at.isoformat(),
                "tree_size": version.tree_size,
                "ledger_range": [version.first_seq, version.last_seq],
                "download_url": url_for("reports.download", version_id=version.id, _external=True),
                "signoffs": [
                    {
                        "auditor": signoff.auditor.display_name,
                        "signed_at": signoff.signed_at.isoformat(),
                        "statement": signoff.statement,
                    }
                    for signoff in version.signoffs
                ],
            }
        )
    return data
