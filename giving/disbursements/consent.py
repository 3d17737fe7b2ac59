"""Evidence that shows children: the guardian consent it needs, and withholding it when
that consent goes.

DESIGN §5: files that show a child need recorded, revocable guardian consent. So:

* Every uploaded file is declared to show no child, or to show children, naming which of the
  campaign's registered children appear in it. An upload is refused, before anything is
  stored, if a file shows children but names none, or names a child whose guardian consent
  is not recorded (no, unknown, or the record erased).
* A file that shows a child is never published, not even as a redacted copy; its original
  stays private for the campaign's books readers.
* When a guardian withdraws consent, or the child's record is erased, every file showing
  that child is *withheld*: its stored bytes (and any public copy) are deleted once the
  change commits, the rows keep its SHA-256 (so the ledger entries listing it still verify)
  and the activity log records the step, without naming the child.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.db import utcnow
from giving.disbursements.evidence import EvidenceUpload
from giving.disbursements.models import (
    ActivityKind,
    EvidenceChild,
    EvidenceFile,
    WithheldReason,
)
from giving.disbursements.steps import log_step
from giving.errors import Conflict, ValidationError
from giving.impact.models import BeneficiaryChild
from giving.storage import FileStore, delete_after_commit

# Which part of an upload an UploadRefused names: the file, the yes/no answer, the children.
FILE = "file"
ANSWER = "shows_children"
CHILDREN = "children"


class UploadRefused(ValidationError):
    """One of several uploaded files was refused; ``index`` is its place among them, so a
    form can show the message beside that file."""

    def __init__(self, message: str, *, index: int, part: str) -> None:
        super().__init__(message, field="evidence")
        self.index = index
        self.part = part


def pictured_children(
    session: Session, campaign: Campaign, uploads: Sequence[EvidenceUpload]
) -> list[list[BeneficiaryChild]]:
    """The registered children each upload shows (empty for a file showing none), after
    checking every declaration; raises UploadRefused at the first file that may not go up."""
    refs = {ref for upload in uploads for ref in upload.children}
    known = (
        {
            child.ref: child
            for child in session.scalars(
                sa.select(BeneficiaryChild).where(
                    BeneficiaryChild.campaign_id == campaign.id, BeneficiaryChild.ref.in_(refs)
                )
            )
        }
        if refs
        else {}
    )
    result: list[list[BeneficiaryChild]] = []
    for index, upload in enumerate(uploads):
        wanted = list(dict.fromkeys(ref.strip() for ref in upload.children if ref.strip()))
        name = upload.filename
        if not upload.shows_children:
            if wanted:
                raise UploadRefused(
                    _(
                        "You said %(name)s shows no child but chose children in it: choose "
                        "“shows children” or clear the children.",
                        name=name,
                    ),
                    index=index,
                    part=ANSWER,
                )
            result.append([])
            continue
        if not wanted:
            raise UploadRefused(
                _("%(name)s shows children: choose every registered child it shows.", name=name),
                index=index,
                part=CHILDREN,
            )
        children = [known.get(ref) for ref in wanted]
        if any(child is None for child in children):
            raise UploadRefused(
                _("Choose children registered in this campaign."), index=index, part=CHILDREN
            )
        shown = [child for child in children if child is not None]
        if any(child.is_erased for child in shown):
            raise UploadRefused(
                _(
                    "%(name)s shows a child whose record was erased, so it cannot be uploaded.",
                    name=name,
                ),
                index=index,
                part=CHILDREN,
            )
        missing = sorted(child.code or "" for child in shown if child.consent is not True)
        if missing:
            raise UploadRefused(
                _(
                    "%(name)s cannot be uploaded: no guardian consent is recorded for "
                    "%(codes)s. Record the consent in the children's registry first, or "
                    "upload a file that does not show them.",
                    name=name,
                    codes=", ".join(missing),
                ),
                index=index,
                part=CHILDREN,
            )
        result.append(shown)
    return result


def record_pictured(
    session: Session,
    *,
    actor: User,
    rows: Sequence[EvidenceFile],
    pictured: Sequence[Sequence[BeneficiaryChild]],
) -> None:
    """Mark the new evidence rows that show children and link them (rows already flushed)."""
    now = utcnow()
    for row, children in zip(rows, pictured, strict=True):
        if not children:
            continue
        row.shows_children = True
        session.add_all(
            EvidenceChild(
                evidence_id=row.id, child_id=child.id, declared_at=now, declared_by_id=actor.id
            )
            for child in children
        )


def refuse_publication(evidence: EvidenceFile) -> None:
    """A file showing a child is never published, not even redacted."""
    if evidence.is_withheld:
        raise Conflict(
            _("This file was withheld to protect a child it shows; it cannot be published."),
            field="file",
        )
    if evidence.shows_children:
        raise Conflict(
            _(
                "This file shows children, so it is never published, not even redacted. The "
                "original stays private for the host, auditors, admins and organisers."
            ),
            field="file",
        )


def children_shown(session: Session, evidence: EvidenceFile) -> int:
    """How many registered children the file shows (their codes are not listed on pages:
    reading them belongs to the registry, where reads are logged)."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(EvidenceChild)
            .where(EvidenceChild.evidence_id == evidence.id)
        )
        or 0
    )


def withhold_evidence_showing(
    session: Session,
    *,
    actor: User,
    child: BeneficiaryChild,
    reason: WithheldReason,
    storage: FileStore,
) -> list[EvidenceFile]:
    """Withhold every file that shows ``child`` and is not withheld yet (see the module
    docstring); returns the files withheld now. The bytes go when the caller commits."""
    files = list(
        session.scalars(
            sa.select(EvidenceFile)
            .join(EvidenceChild, EvidenceChild.evidence_id == EvidenceFile.id)
            .where(EvidenceChild.child_id == child.id, EvidenceFile.withheld_at.is_(None))
            .order_by(EvidenceFile.id)
        )
    )
    now = utcnow()
    for evidence in files:
        withhold(session, actor=actor, evidence=evidence, reason=reason, storage=storage, now=now)
    session.flush()
    return files


def clear_public_copy(session: Session, storage: FileStore, evidence: EvidenceFile) -> None:
    """Stop serving the file's redacted copy (if any): its bytes go once the caller commits,
    its digest stays in the activity log that recorded its publication."""
    if evidence.redacted_key is not None:
        delete_after_commit(session, storage, evidence.redacted_key)
    evidence.redacted_key = None
    evidence.redacted_content_type = None
    evidence.redacted_size_bytes = None
    evidence.redacted_sha256 = None
    evidence.caption = ""
    evidence.published_at = None
    evidence.published_by_id = None


def withhold(
    session: Session,
    *,
    actor: User,
    evidence: EvidenceFile,
    reason: WithheldReason,
    storage: FileStore,
    now: dt.datetime | None = None,
) -> None:
    """Withhold one file that shows a child (see the module docstring) and log the step."""
    delete_after_commit(session, storage, evidence.storage_key)
    clear_public_copy(session, storage, evidence)
    evidence.withheld_at = now or utcnow()
    evidence.withheld_reason = reason.value
    disbursement = evidence.disbursement
    # The log names the file by digest and the reason, never the child.
    log_step(
        session,
        campaign=disbursement.campaign,
        actor=actor,
        kind=ActivityKind.EVIDENCE_WITHHELD,
        disbursement=disbursement,
        evidence=evidence.sha256,
        withheld=reason.value,
    )


def sweep_withheld(session: Session, storage: FileStore) -> list[str]:
    """Delete the bytes of withheld files that are still on disk; returns their digests.

    Withholding deletes the bytes after the commit, so a process that dies between the two
    leaves them behind (downloads already refuse them). Running this finishes the job.
    """
    swept = []
    withheld = sa.select(EvidenceFile).where(EvidenceFile.withheld_at.is_not(None))
    for evidence in session.scalars(withheld.order_by(EvidenceFile.id)):
        if storage.exists(evidence.storage_key):
            storage.delete(evidence.storage_key)
            swept.append(evidence.sha256)
    return swept
