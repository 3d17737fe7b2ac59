"""Auditors and reports: sign-offs of published versions, and the download log.

Who may read what is giving/auditors (grants). An auditor with an active grant may sign off
a published report version once: the sign-off records who, when, the report's SHA-256 and
the checkpoint it covers, is never changed (database triggers), and appears on the
transparency page and in later versions of the report. Every download of a report or an
export is logged.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.audit.services import record_action
from giving.auditors.services import has_auditor_access
from giving.campaigns.models import Campaign
from giving.db import utcnow
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.reports.models import (
    DownloadKind,
    ReportDownload,
    ReportSignOff,
    ReportVersion,
)
from giving.scanner import check_public_text

STATEMENT_MAX = 2_000


def sign_off(
    session: Session,
    *,
    actor: User,
    version: ReportVersion,
    statement: str,
    now: dt.datetime | None = None,
) -> ReportSignOff:
    """Record the auditor's statement about one published version (once, never changed)."""
    now = now or utcnow()
    if not has_auditor_access(session, actor, version.campaign, now):
        raise PermissionDenied(
            _("Only an auditor with current access to this campaign can sign off its reports.")
        )
    statement = statement.strip()
    if not statement:
        raise ValidationError(_("Write what you checked and what you found."), field="statement")
    if len(statement) > STATEMENT_MAX:
        raise ValidationError(
            _("Keep the statement under %(n)s characters.", n=STATEMENT_MAX), field="statement"
        )
    # The statement is printed on the public transparency page beside the report.
    check_public_text(session, version.campaign, statement, field="statement")
    signoff = ReportSignOff(
        version_id=version.id,
        auditor_id=actor.id,
        signed_at=now,
        sha256=version.sha256,
        tree_size=version.tree_size,
        statement=statement,
    )
    try:
        # The savepoint comes first: begin_nested() flushes what is pending before it.
        with session.begin_nested():
            session.add(signoff)
            session.flush()
    except IntegrityError:
        raise Conflict(_("You have already signed off this report version.")) from None
    record_action(
        session,
        actor_id=actor.id,
        action="report.signed_off",
        subject_type="campaign",
        subject_id=version.campaign.public_id,
        version=version.version,
        language=version.language,
        sha256=version.sha256,
    )
    return signoff


def signoffs_of(session: Session, campaign: Campaign) -> list[ReportSignOff]:
    return list(
        session.scalars(
            sa.select(ReportSignOff)
            .join(ReportVersion, ReportVersion.id == ReportSignOff.version_id)
            .where(ReportVersion.campaign_id == campaign.id)
            .order_by(ReportSignOff.signed_at.desc(), ReportSignOff.id.desc())
        )
    )


def log_download(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    kind: DownloadKind,
    version: ReportVersion | None = None,
    subject: str = "",
) -> ReportDownload:
    """Append a row to the download log (who, what, when); flushed with the caller's work."""
    row = ReportDownload(
        campaign_id=campaign.id,
        kind=kind.value,
        version_id=version.id if version is not None else None,
        subject=subject[:100],
        user_id=actor.id if actor is not None else None,
        as_auditor=has_auditor_access(session, actor, campaign),
    )
    session.add(row)
    session.flush()
    return row


def downloads_of(session: Session, campaign: Campaign, limit: int = 100) -> list[ReportDownload]:
    return list(
        session.scalars(
            sa.select(ReportDownload)
            .where(ReportDownload.campaign_id == campaign.id)
            .order_by(ReportDownload.id.desc())
            .limit(limit)
        )
    )
