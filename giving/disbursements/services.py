"""Disbursement requests and their evidence: asking for money, adding files, publishing
redacted copies. Decisions live in decisions.py, budgets in budget.py and corrections to
published evidence in takedown.py; all are re-exported here, so callers find every
disbursement operation in one module.

Each operation checks the actor and the request's state, changes the rows, appends one row
per step to the activity log and flushes; the entry point commits. Amounts are whole minor
units above zero, in the campaign's currency. Every file is checked before any is stored,
including what it shows (``consent``: a file showing a child needs that child's guardian
consent), and stored files are removed again if the operation or its transaction fails, so a
bad file or a failed commit leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.db import utcnow
from giving.disbursements import consent
from giving.disbursements.access import can_request
from giving.disbursements.budget import set_budget
from giving.disbursements.decisions import (
    approve_disbursement,
    available_balance,
    ledger_memo,
    reject_disbursement,
    reverse_disbursement,
)
from giving.disbursements.evidence import (
    MAX_EVIDENCE_BYTES,
    MAX_FILES_PER_REQUEST,
    CheckedFile,
    EvidenceUpload,
    check_evidence_file,
    publishable_copy,
)
from giving.disbursements.models import (
    ActivityKind,
    Category,
    Disbursement,
    DisbursementState,
    EvidenceFile,
)
from giving.disbursements.steps import SPENDING_STATES, check_public_text, clean_text, log_step
from giving.disbursements.takedown import declare_shows_children, withdraw_public_copy
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.money import MAX_AMOUNT_MINOR, Money
from giving.storage import FileStore, delete_after_commit, save_for_transaction

__all__ = [
    "EvidenceUpload",
    "UploadRefused",
    "add_evidence",
    "approve_disbursement",
    "available_balance",
    "declare_shows_children",
    "discard",
    "ledger_memo",
    "publish_redacted",
    "reject_disbursement",
    "request_disbursement",
    "reverse_disbursement",
    "set_budget",
    "withdraw_public_copy",
]

PAYEE_MAX = 200
DESCRIPTION_MAX = 2000
GROUPS_MAX = 300
CAPTION_MAX = 300
PEOPLE_MAX = 1_000_000


UploadRefused = consent.UploadRefused


def _check_amount(amount: Money, campaign: Campaign) -> None:
    if amount.currency != campaign.currency:
        raise ValidationError(
            _(
                "This campaign's money is in %(currency)s; request the amount in %(currency)s.",
                currency=campaign.currency,
            ),
            field="currency",
        )
    if amount.amount_minor <= 0:
        raise ValidationError(_("The amount must be more than zero."), field="amount")
    if amount.amount_minor > MAX_AMOUNT_MINOR:
        raise ValidationError(_("That amount is larger than Giving accepts."), field="amount")


def _check_files(
    uploads: Sequence[EvidenceUpload], *, max_bytes: int, already: Sequence[str] = ()
) -> list[CheckedFile]:
    if len(uploads) + len(already) > MAX_FILES_PER_REQUEST:
        raise ValidationError(
            _("Attach at most %(count)s evidence files.", count=MAX_FILES_PER_REQUEST),
            field="evidence",
        )
    checked = []
    for index, upload in enumerate(uploads):
        try:
            checked.append(check_evidence_file(upload.data, upload.filename, max_bytes=max_bytes))
        except ValidationError as exc:
            raise UploadRefused(exc.message, index=index, part=consent.FILE) from None
    seen = set(already)
    for index, item in enumerate(checked):
        if item.sha256 in seen:
            raise UploadRefused(
                _("%(name)s is attached twice.", name=item.filename),
                index=index,
                part=consent.FILE,
            )
        seen.add(item.sha256)
    return checked


def _store(session: Session, storage: FileStore, files: Sequence[CheckedFile]) -> list[str]:
    """Save checked files under new random keys, tied to the session's transaction (they go
    again if it does not commit); if one fails, remove those already saved."""
    keys: list[str] = []
    try:
        for item in files:
            keys.append(save_for_transaction(session, storage, item.data, suffix=item.suffix))
    except BaseException:
        discard(storage, keys)
        raise
    return keys


def discard(storage: FileStore, keys: Sequence[str]) -> None:
    """Remove stored files whose database rows were never committed."""
    for key in keys:
        with contextlib.suppress(FileNotFoundError):
            storage.delete(key)


def _evidence_rows(
    actor: User, files: Sequence[CheckedFile], keys: Sequence[str]
) -> list[EvidenceFile]:
    return [
        EvidenceFile(
            token=secrets.token_urlsafe(18),
            storage_key=key,
            filename=item.filename,
            content_type=item.content_type,
            size_bytes=item.size,
            sha256=item.sha256,
            uploaded_by_id=actor.id,
        )
        for item, key in zip(files, keys, strict=True)
    ]


def request_disbursement(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    payee: str,
    amount: Money,
    category: str,
    spent_on: dt.date,
    description: str,
    groups_reached: str = "",
    people_reached: int | None = None,
    evidence: Sequence[EvidenceUpload] = (),
    storage: FileStore,
    max_bytes: int = MAX_EVIDENCE_BYTES,
) -> Disbursement:
    """Ask for money to be paid out of the campaign's fund; nothing moves until approval."""
    if not can_request(actor, campaign):
        raise PermissionDenied(_("Only this campaign's organisers can request disbursements."))
    if campaign.state not in SPENDING_STATES:
        raise Conflict(_("Disbursements can be requested once the campaign is live."))
    payee = clean_text(
        payee, field="payee", maximum=PAYEE_MAX, required=_("Enter who is being paid.")
    )
    _check_amount(amount, campaign)
    if category not in set(Category):
        raise ValidationError(_("Choose a category from the list."), field="category")
    if not isinstance(spent_on, dt.date) or spent_on > utcnow().date() + dt.timedelta(days=1):
        raise ValidationError(
            _("Enter the date of the purchase or payment (not in the future)."), field="spent_on"
        )
    description = clean_text(
        description,
        field="description",
        maximum=DESCRIPTION_MAX,
        required=_("Describe what the money is for."),
    )
    groups_reached = clean_text(groups_reached, field="groups_reached", maximum=GROUPS_MAX)
    if people_reached is not None and not 0 <= people_reached <= PEOPLE_MAX:
        raise ValidationError(_("Enter a number of people from 0 up."), field="people_reached")
    # The payee is named in the public report and the IATI export.
    check_public_text(session, campaign, payee, field="payee")
    check_public_text(session, campaign, description, field="description")
    check_public_text(session, campaign, groups_reached, field="groups_reached")
    files = _check_files(evidence, max_bytes=max_bytes)
    pictured = consent.pictured_children(session, campaign, evidence)
    keys = _store(session, storage, files)
    try:
        disbursement = Disbursement(
            campaign_id=campaign.id,
            requested_by_id=actor.id,
            payee=payee,
            amount_minor=amount.amount_minor,
            currency=amount.currency,
            category=category,
            spent_on=spent_on,
            description=description,
            groups_reached=groups_reached,
            people_reached=people_reached,
        )
        rows = _evidence_rows(actor, files, keys)
        disbursement.evidence = rows
        session.add(disbursement)
        session.flush()
        consent.record_pictured(session, actor=actor, rows=rows, pictured=pictured)
        log_step(
            session,
            campaign=campaign,
            actor=actor,
            kind=ActivityKind.REQUESTED,
            disbursement=disbursement,
            amount_minor=amount.amount_minor,
            currency=amount.currency,
            category=category,
            evidence=[item.sha256 for item in files],
        )
        session.flush()
    except BaseException:
        discard(storage, keys)
        raise
    return disbursement


def add_evidence(
    session: Session,
    *,
    actor: User,
    disbursement: Disbursement,
    evidence: Sequence[EvidenceUpload],
    storage: FileStore,
    max_bytes: int = MAX_EVIDENCE_BYTES,
) -> list[EvidenceFile]:
    """Attach more files to a request that has not been decided yet."""
    campaign = disbursement.campaign
    if not can_request(actor, campaign):
        raise PermissionDenied(_("Only this campaign's organisers can add evidence."))
    if disbursement.state != DisbursementState.REQUESTED:
        raise Conflict(
            _("Evidence can only be added before a decision: the ledger fixes the files.")
        )
    if not evidence:
        raise ValidationError(_("Choose at least one file."), field="evidence")
    files = _check_files(
        evidence, max_bytes=max_bytes, already=[e.sha256 for e in disbursement.evidence]
    )
    pictured = consent.pictured_children(session, campaign, evidence)
    keys = _store(session, storage, files)
    try:
        rows = _evidence_rows(actor, files, keys)
        disbursement.evidence.extend(rows)
        session.flush()
        consent.record_pictured(session, actor=actor, rows=rows, pictured=pictured)
        for row in rows:
            log_step(
                session,
                campaign=campaign,
                actor=actor,
                kind=ActivityKind.EVIDENCE_ADDED,
                disbursement=disbursement,
                evidence=row.sha256,
            )
        session.flush()
    except BaseException:
        discard(storage, keys)
        raise
    return rows


# --- public evidence ---------------------------------------------------------------------


def publish_redacted(
    session: Session,
    *,
    actor: User,
    evidence: EvidenceFile,
    upload: EvidenceUpload,
    caption: str = "",
    storage: FileStore,
    max_bytes: int = MAX_EVIDENCE_BYTES,
) -> EvidenceFile:
    """Publish a redacted copy of an evidence file beside the original's digest.

    The original stays private. Image copies are re-encoded and PDFs rewritten so no
    metadata (EXIF, GPS, author, XMP) is published; a later copy replaces an earlier one (both
    steps stay in the activity log). A file showing children is never published.
    """
    disbursement = evidence.disbursement
    campaign = disbursement.campaign
    if not can_request(actor, campaign):
        raise PermissionDenied(_("Only this campaign's organisers can publish evidence."))
    if disbursement.state == DisbursementState.REJECTED:
        raise Conflict(_("Evidence of a rejected request is not published."))
    consent.refuse_publication(evidence)
    caption = clean_text(caption, field="caption", maximum=CAPTION_MAX)
    check_public_text(session, campaign, caption, field="caption")
    checked = check_evidence_file(upload.data, upload.filename, max_bytes=max_bytes, field="file")
    if checked.sha256 == evidence.sha256:
        raise ValidationError(
            _("That is the original file, not a redacted copy of it."), field="file"
        )
    copy = publishable_copy(checked)
    (key,) = _store(session, storage, [copy])
    replaced = evidence.redacted_key
    try:
        evidence.redacted_key = key
        evidence.redacted_content_type = copy.content_type
        evidence.redacted_size_bytes = copy.size
        evidence.redacted_sha256 = copy.sha256
        evidence.caption = caption
        evidence.published_at = utcnow()
        evidence.published_by_id = actor.id
        log_step(
            session,
            campaign=campaign,
            actor=actor,
            kind=ActivityKind.EVIDENCE_PUBLISHED,
            disbursement=disbursement,
            evidence=evidence.sha256,
            redacted=copy.sha256,
        )
        session.flush()
        if replaced is not None:
            # The copy it replaces is no longer served; its digest stays in the activity log.
            delete_after_commit(session, storage, replaced)
    except BaseException:
        discard(storage, [key])
        raise
    return evidence
