"""Which children a disbursement reached: linking and unlinking, by the campaign's organisers.

Only children registered in the disbursement's own campaign can be linked, and only while
the disbursement is waiting for approval or approved (a rejected or reversed one reached
nobody). Links feed the impact figures (``giving.impact.figures``) and nothing public shows
which child a disbursement reached. The audit log records how many children were linked,
never their codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.audit.services import record_action
from giving.campaigns.models import Campaign
from giving.disbursements.models import Disbursement, DisbursementState
from giving.errors import Conflict, ValidationError
from giving.impact.access import require_manager, require_not_frozen, require_viewer
from giving.impact.models import AccessKind, BeneficiaryChild, DisbursementBeneficiary
from giving.impact.services import live_children_query, log_reads

LINKABLE_STATES = (DisbursementState.REQUESTED, DisbursementState.APPROVED)


@dataclass(frozen=True, slots=True)
class ChildChoice:
    ref: str
    code: str
    age_band: str
    linked: bool
    # Whether the guardian's consent is recorded: files showing the child need it.
    consented: bool = False


def linked_refs(session: Session, disbursement: Disbursement) -> set[str]:
    return set(
        session.scalars(
            sa.select(BeneficiaryChild.ref)
            .join(DisbursementBeneficiary, DisbursementBeneficiary.child_id == BeneficiaryChild.id)
            .where(
                DisbursementBeneficiary.disbursement_id == disbursement.id,
                BeneficiaryChild.erased_at.is_(None),
            )
        )
    )


def link_choices(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    disbursement: Disbursement | None = None,
    log: bool = True,
) -> list[ChildChoice]:
    """The campaign's children as checkboxes, ticked where linked; the listing is logged
    (``log=False`` only where this reader's listing was already logged for the same page)."""
    viewer = require_viewer(session, actor, campaign)
    children = list(session.scalars(live_children_query(campaign)))
    linked = linked_refs(session, disbursement) if disbursement is not None else set()
    if log:
        log_reads(
            session, actor=viewer, campaign=campaign, children=children, kind=AccessKind.LISTED
        )
    return [
        ChildChoice(
            ref=child.ref,
            code=child.code or "",
            age_band=child.age_band or "",
            linked=child.ref in linked,
            consented=child.consent is True,
        )
        for child in children
    ]


def set_disbursement_children(
    session: Session,
    *,
    actor: User | None,
    disbursement: Disbursement,
    refs: Iterable[str],
) -> set[str]:
    """Make the children ``disbursement`` reached exactly ``refs``; returns the linked refs.

    Call it right after ``request_disbursement`` in the same transaction to record whom a new
    request reaches, or later to correct the list.
    """
    campaign = disbursement.campaign
    organiser = require_manager(session, actor, campaign)
    require_not_frozen(campaign)
    if disbursement.state not in LINKABLE_STATES:
        raise Conflict(
            _("Children can be linked only to disbursements that are waiting or approved.")
        )
    wanted = {ref.strip() for ref in refs if ref.strip()}
    children = (
        list(
            session.scalars(
                sa.select(BeneficiaryChild).where(
                    BeneficiaryChild.ref.in_(wanted),
                    BeneficiaryChild.campaign_id == campaign.id,
                    BeneficiaryChild.erased_at.is_(None),
                )
            )
        )
        if wanted
        else []
    )
    if len(children) != len(wanted):
        raise ValidationError(_("Choose children registered in this campaign."), field="children")
    current = {
        row.child_id: row
        for row in session.scalars(
            sa.select(DisbursementBeneficiary).where(
                DisbursementBeneficiary.disbursement_id == disbursement.id
            )
        )
    }
    wanted_ids = {child.id for child in children}
    added = [child for child in children if child.id not in current]
    # Links of erased children stay: the tombstone is what keeps published figures stable.
    erased_ids = set(
        session.scalars(
            sa.select(BeneficiaryChild.id).where(
                BeneficiaryChild.id.in_(list(current)), BeneficiaryChild.erased_at.is_not(None)
            )
        )
    )
    removed = [row for child_id, row in current.items() if child_id not in wanted_ids | erased_ids]
    for row in removed:
        session.delete(row)
    session.add_all(
        DisbursementBeneficiary(
            disbursement_id=disbursement.id, child_id=child.id, linked_by_id=organiser.id
        )
        for child in added
    )
    session.flush()
    if added or removed:
        record_action(
            session,
            actor_id=organiser.id,
            action="disbursement.children_linked",
            subject_type="disbursement",
            subject_id=disbursement.id,
            campaign=campaign.public_id,
            added=len(added),
            removed=len(removed),
        )
    return {child.ref for child in children}
