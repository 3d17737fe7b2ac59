"""Correcting evidence after the fact: taking a public copy down, declaring a child later.

An organiser may notice that a published redacted copy still shows an address, or that a
photo uploaded as "shows no child" in fact shows one. Either can be put right by the
campaign's organisers, its host's finance members and admins (the people who publish and
who approve):

* ``withdraw_public_copy`` stops serving the redacted copy (its bytes go once the change
  commits) and logs the step with the reason; the file may be published again later.
* ``declare_shows_children`` marks the file as showing children, for good (the database
  refuses the reverse), links the registered children named and takes any public copy down.
  If a child shown has no recorded guardian consent, or is not registered at all, the file
  is withheld at once (``no_consent``), as when a guardian withdraws consent
  (``giving.disbursements.consent``); the digest stays, so the ledger still verifies.

The activity log is read only by the campaign's books readers, so the take-down reason is
kept there as written (it is never shown to the public). Neither step names a child in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.db import utcnow
from giving.disbursements import consent
from giving.disbursements.access import can_decide, can_request
from giving.disbursements.models import (
    ActivityKind,
    EvidenceChild,
    EvidenceFile,
    WithheldReason,
)
from giving.disbursements.steps import REASON_MAX, clean_text, log_step
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.impact.models import BeneficiaryChild
from giving.storage import FileStore


def _check_actor(session: Session, actor: User, evidence: EvidenceFile) -> None:
    campaign = evidence.disbursement.campaign
    if not (can_request(actor, campaign) or can_decide(session, actor, campaign)):
        raise PermissionDenied(
            _(
                "Only this campaign's organisers, its host's finance members and admins can "
                "correct its evidence."
            )
        )


def _take_down(
    session: Session, *, actor: User, evidence: EvidenceFile, storage: FileStore, **why: str
) -> None:
    disbursement = evidence.disbursement
    log_step(
        session,
        campaign=disbursement.campaign,
        actor=actor,
        kind=ActivityKind.EVIDENCE_UNPUBLISHED,
        disbursement=disbursement,
        evidence=evidence.sha256,
        redacted=evidence.redacted_sha256,
        **why,
    )
    consent.clear_public_copy(session, storage, evidence)


def withdraw_public_copy(
    session: Session,
    *,
    actor: User,
    evidence: EvidenceFile,
    reason: str,
    storage: FileStore,
) -> EvidenceFile:
    """Take the published redacted copy of ``evidence`` down, saying why."""
    _check_actor(session, actor, evidence)
    reason = clean_text(
        reason,
        field="reason",
        maximum=REASON_MAX,
        required=_("Say why the public copy is taken down; the books keep your reason."),
    )
    if evidence.redacted_key is None:
        raise Conflict(_("This file has no public copy to take down."), field="reason")
    _take_down(session, actor=actor, evidence=evidence, storage=storage, reason=reason)
    session.flush()
    return evidence


def declare_shows_children(
    session: Session,
    *,
    actor: User,
    evidence: EvidenceFile,
    children: Sequence[str],
    storage: FileStore,
) -> EvidenceFile:
    """Record that ``evidence`` shows children: the registered ones named by ``children``
    (their refs), or an unregistered child when none is named. See the module docstring."""
    _check_actor(session, actor, evidence)
    if evidence.is_withheld or evidence.shows_children:
        raise Conflict(_("This file is already recorded as showing children."), field="children")
    campaign = evidence.disbursement.campaign
    refs = list(dict.fromkeys(ref.strip() for ref in children if ref.strip()))
    shown = (
        list(
            session.scalars(
                sa.select(BeneficiaryChild).where(
                    BeneficiaryChild.campaign_id == campaign.id, BeneficiaryChild.ref.in_(refs)
                )
            )
        )
        if refs
        else []
    )
    if len(shown) != len(refs):
        raise ValidationError(_("Choose children registered in this campaign."), field="children")
    if evidence.redacted_key is not None:
        _take_down(
            session, actor=actor, evidence=evidence, storage=storage, because="shows_children"
        )
    evidence.shows_children = True
    now = utcnow()
    session.add_all(
        EvidenceChild(
            evidence_id=evidence.id, child_id=child.id, declared_at=now, declared_by_id=actor.id
        )
        for child in shown
    )
    log_step(
        session,
        campaign=campaign,
        actor=actor,
        kind=ActivityKind.EVIDENCE_SHOWS_CHILDREN,
        disbursement=evidence.disbursement,
        evidence=evidence.sha256,
        children=len(shown),
    )
    # An unregistered child has no consent on record; neither has an erased record.
    if not shown or any(child.is_erased or child.consent is not True for child in shown):
        consent.withhold(
            session,
            actor=actor,
            evidence=evidence,
            reason=WithheldReason.NO_CONSENT,
            storage=storage,
            now=now,
        )
    session.flush()
    return evidence
