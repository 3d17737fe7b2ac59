"""Report rules: building, publishing (as render jobs), regenerating and verifying reports.

Publishing takes a signed checkpoint of the ledger as it stands, reserves the next version
number, snapshots the non-ledger facts (giving.reports.data.ReportContext) and queues one
render job per language. A job renders, stores the file and inserts the immutable
``ReportVersion``. Because every input of a version is frozen (checkpoint, report date,
context), ``regenerate`` reproduces the published bytes, and ``verify_*`` answers whether a
file or a SHA-256 is a published version and of which campaign.

Auditor grants and sign-offs live in giving.reports.auditors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.audit.services import record_action
from giving.campaigns.models import Campaign
from giving.config import Settings
from giving.db import utcnow
from giving.errors import Conflict, NotFound, PermissionDenied, ValidationError
from giving.hosts.services import host_role
from giving.ledger.keys import ledger_origin, vkey_text
from giving.ledger.models import LedgerCheckpoint
from giving.ledger.services import latest_checkpoint, make_checkpoint
from giving.ledger.tree import log_size
from giving.reports.data import LANGUAGES, ReportContext
from giving.reports.gather import (
    Gathered,
    build_context,
    check_language,
    gather_report,
    require_entries,
)
from giving.reports.models import JobState, ReportRenderJob, ReportVersion
from giving.reports.render import render_pdf
from giving.storage import FileStore, app_storage

_SHA256 = re.compile(r"[0-9a-f]{64}")
PDF_MAGIC = b"%PDF-"

Progress = Callable[[int, str], None]


def _no_progress(_percent: int, _stage: str) -> None:
    pass


# --------------------------------------------------------------------------- who may


def can_publish(session: Session, actor: User | None, campaign: Campaign) -> bool:
    """Organisers of the campaign and members of its host organisation publish reports."""
    if actor is None:
        return False
    return campaign.is_organiser(actor) or host_role(session, actor, campaign) is not None


# --------------------------------------------------------------------------- building


def checkpoint_covering_ledger(
    session: Session, key: Ed25519PrivateKey, settings: Settings
) -> LedgerCheckpoint:
    """The newest checkpoint if it covers the whole ledger, else a freshly signed one."""
    origin = ledger_origin(settings)
    # Only one signed as the report's verifier key says: this log's name, this key.
    latest = latest_checkpoint(session, signed_as=(origin, key))
    if latest is not None and latest.tree_size == log_size(session):
        return latest
    return make_checkpoint(session, key, origin=origin)


def report_context(
    session: Session,
    campaign: Campaign,
    *,
    language: str,
    settings: Settings,
    vkey: str,
    as_of: dt.datetime,
) -> ReportContext:
    with force_locale(LANGUAGES[check_language(language)]):
        return build_context(session, campaign, settings=settings, vkey=vkey, as_of=as_of)


def render_report(
    session: Session,
    campaign: Campaign,
    *,
    context: ReportContext,
    checkpoint: LedgerCheckpoint,
    language: str,
    version: int | None,
    report_date: dt.datetime,
    progress: Progress = _no_progress,
) -> tuple[bytes, Gathered]:
    """Gather the figures and render the PDF; nothing is stored."""
    progress(10, "gathering")
    gathered = gather_report(
        session,
        campaign,
        context=context,
        checkpoint=checkpoint,
        language=language,
        version=version,
        report_date=report_date,
    )
    progress(50, "rendering")
    with force_locale(LANGUAGES[language]):
        pdf = render_pdf(gathered.data, gathered.attachments)
    return pdf, gathered


def build_draft(
    session: Session,
    campaign: Campaign,
    *,
    language: str,
    settings: Settings,
    key: Ed25519PrivateKey,
) -> bytes:
    """An unpublished report of the ledger as it stands (``giving report build``).

    Dated at its checkpoint, so building twice against the same checkpoint gives the same
    bytes. Flushes a new checkpoint when the newest one does not cover the whole ledger.
    """
    check_language(language)
    require_entries(session, campaign)
    checkpoint = checkpoint_covering_ledger(session, key, settings)
    report_date = checkpoint.created_at.replace(microsecond=0)
    context = report_context(
        session,
        campaign,
        language=language,
        settings=settings,
        vkey=vkey_text(settings, key),
        as_of=utcnow(),
    )
    pdf, _gathered = render_report(
        session,
        campaign,
        context=context,
        checkpoint=checkpoint,
        language=language,
        version=None,
        report_date=report_date,
    )
    return pdf


# --------------------------------------------------------------------------- publishing


def jobs_in_progress(session: Session, campaign: Campaign) -> list[ReportRenderJob]:
    return list(
        session.scalars(
            sa.select(ReportRenderJob)
            .where(
                ReportRenderJob.campaign_id == campaign.id,
                ReportRenderJob.state.in_((JobState.QUEUED, JobState.RUNNING)),
            )
            .order_by(ReportRenderJob.id)
        )
    )


def next_version_number(session: Session, campaign: Campaign) -> int:
    highest = session.scalar(
        sa.select(sa.func.max(ReportRenderJob.version)).where(
            ReportRenderJob.campaign_id == campaign.id
        )
    )
    return int(highest or 0) + 1


def request_publication(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    languages: Sequence[str],
    settings: Settings,
    key: Ed25519PrivateKey,
) -> list[ReportRenderJob]:
    """Queue the next report version in each language; the jobs render and publish it."""
    if not can_publish(session, actor, campaign):
        raise PermissionDenied(
            _("Only this campaign's organisers and its host organisation can publish reports.")
        )
    chosen = sorted({check_language(language) for language in languages})
    if not chosen:
        raise ValidationError(_("Choose at least one language."), field="languages")
    require_entries(session, campaign)
    if jobs_in_progress(session, campaign):
        raise Conflict(
            _("A report version of this campaign is already being rendered; wait for it to finish.")
        )
    checkpoint = checkpoint_covering_ledger(session, key, settings)
    now = utcnow()
    report_date = now.replace(microsecond=0)
    version = next_version_number(session, campaign)
    vkey = vkey_text(settings, key)
    jobs = [
        ReportRenderJob(
            campaign_id=campaign.id,
            version=version,
            language=language,
            checkpoint_id=checkpoint.id,
            report_date=report_date,
            context=report_context(
                session, campaign, language=language, settings=settings, vkey=vkey, as_of=now
            ).to_json(),
            requested_by_id=actor.id,
        )
        for language in chosen
    ]
    try:
        # The savepoint comes first: begin_nested() flushes what is pending before it.
        with session.begin_nested():
            session.add_all(jobs)
            session.flush()
    except IntegrityError:
        raise Conflict(
            _("Someone else is publishing a version of this report right now; try again.")
        ) from None
    record_action(
        session,
        actor_id=actor.id,
        action="report.publish_requested",
        subject_type="campaign",
        subject_id=campaign.public_id,
        version=version,
        languages=chosen,
        tree_size=checkpoint.tree_size,
    )
    return jobs


def render_job(
    session: Session, job: ReportRenderJob, storage: FileStore, progress: Progress = _no_progress
) -> ReportVersion:
    """Render a queued version, store the file and insert the immutable ReportVersion."""
    checkpoint = session.get(LedgerCheckpoint, job.checkpoint_id)
    assert checkpoint is not None
    pdf, gathered = render_report(
        session,
        job.campaign,
        context=ReportContext.from_json(job.context),
        checkpoint=checkpoint,
        language=job.language,
        version=job.version,
        report_date=job.report_date,
        progress=progress,
    )
    progress(90, "storing")
    key = storage.save(pdf, suffix=".pdf")
    integrity = gathered.data.integrity
    version = ReportVersion(
        campaign_id=job.campaign_id,
        version=job.version,
        language=job.language,
        file_key=key,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size_bytes=len(pdf),
        checkpoint_id=checkpoint.id,
        tree_size=checkpoint.tree_size,
        first_seq=integrity.first_seq,
        last_seq=integrity.last_seq,
        entries=integrity.entries,
        report_date=job.report_date,
        context=job.context,
        published_by_id=job.requested_by_id,
        published_at=utcnow(),
    )
    session.add(version)
    session.flush()
    record_action(
        session,
        actor_id=job.requested_by_id,
        action="report.published",
        subject_type="campaign",
        subject_id=job.campaign.public_id,
        version=job.version,
        language=job.language,
        sha256=version.sha256,
    )
    return version


def regenerate(session: Session, version: ReportVersion) -> bytes:
    """Render a published version again from the ledger and its frozen inputs."""
    checkpoint = session.get(LedgerCheckpoint, version.checkpoint_id)
    assert checkpoint is not None
    pdf, _gathered = render_report(
        session,
        version.campaign,
        context=ReportContext.from_json(version.context),
        checkpoint=checkpoint,
        language=version.language,
        version=version.version,
        report_date=version.report_date,
    )
    return pdf


# --------------------------------------------------------------------------- reading


def report_storage(app: Flask) -> FileStore:
    """Report files live in their own folder of the app's storage, apart from covers."""
    return app_storage(app).within("reports")


def report_filename(version: ReportVersion) -> str:
    return f"{version.campaign.public_id}-report-v{version.version}-{version.language}.pdf"


def recent_jobs(session: Session, campaign: Campaign, limit: int = 6) -> list[ReportRenderJob]:
    """Render jobs still running, and recent ones that failed, newest first."""
    return list(
        session.scalars(
            sa.select(ReportRenderJob)
            .where(
                ReportRenderJob.campaign_id == campaign.id,
                ReportRenderJob.state != JobState.DONE.value,
            )
            .order_by(ReportRenderJob.id.desc())
            .limit(limit)
        )
    )


def published_versions(session: Session, campaign: Campaign) -> list[ReportVersion]:
    return list(
        session.scalars(
            sa.select(ReportVersion)
            .where(ReportVersion.campaign_id == campaign.id)
            .order_by(ReportVersion.version.desc(), ReportVersion.language)
        )
    )


def get_version(session: Session, version_id: int) -> ReportVersion:
    version = session.get(ReportVersion, version_id)
    if version is None:
        raise NotFound(_("We could not find that report version."))
    return version


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verification:
    sha256: str
    version: ReportVersion | None

    @property
    def published(self) -> bool:
        return self.version is not None


def verify_sha256(session: Session, text: str) -> Verification:
    digest = text.strip().lower()
    if not _SHA256.fullmatch(digest):
        raise ValidationError(
            _("A SHA-256 is 64 hexadecimal characters (0-9, a-f)."), field="sha256"
        )
    version = session.scalar(sa.select(ReportVersion).where(ReportVersion.sha256 == digest))
    return Verification(sha256=digest, version=version)


def verify_file(session: Session, data: bytes) -> Verification:
    if not data:
        raise ValidationError(_("The file is empty."), field="file")
    if not data.startswith(PDF_MAGIC):
        raise ValidationError(
            _("That file is not a PDF. Upload the report file exactly as you downloaded it."),
            field="file",
        )
    return verify_sha256(session, hashlib.sha256(data).hexdigest())
