"""Deciding on a request: approval into the ledger, rejection, and reversal.

Only approval writes to the ledger: a ``disbursement`` entry (campaign fund → payee) whose
``evidence`` lists the SHA-256 of every evidence file, so the file set is fixed from then on.
Approval is refused beyond what the campaign holds (the ledger refuses it again under its
lock, so two approvals racing each other cannot overdraw the fund either). The person who
asked for the money never decides on it.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.db import utcnow
from giving.disbursements.access import can_decide
from giving.disbursements.models import ActivityKind, Disbursement, DisbursementState
from giving.disbursements.steps import REASON_MAX, SPENDING_STATES, clean_text, log_step
from giving.errors import Conflict, PermissionDenied
from giving.ledger import rules
from giving.ledger.balances import campaign_summary
from giving.ledger.canonical import Posting
from giving.ledger.errors import InvalidEntry
from giving.ledger.services import append_entry
from giving.money import Money


def _require_decider(session: Session, actor: User, disbursement: Disbursement) -> None:
    if not can_decide(session, actor, disbursement.campaign):
        raise PermissionDenied(
            _("Only a finance member of the campaign's host organisation or an admin can decide.")
        )


def _require_other_person(actor: User, disbursement: Disbursement) -> None:
    if actor.id == disbursement.requested_by_id:
        raise PermissionDenied(
            _("You requested this disbursement, so someone else has to decide on it.")
        )


def _require_pending(disbursement: Disbursement) -> None:
    if disbursement.state != DisbursementState.REQUESTED:
        raise Conflict(
            _(
                "This request was already decided (%(state)s).",
                state=disbursement.state_enum.label,
            )
        )


def lock_for_decision(session: Session, disbursement: Disbursement) -> None:
    """Hold the request's row until commit and re-read it, so that of two people deciding at
    the same moment the second sees the first's decision (PostgreSQL: SELECT … FOR UPDATE;
    SQLite transactions are single-writer from their first statement anyway)."""
    session.execute(
        sa.select(Disbursement.id).where(Disbursement.id == disbursement.id).with_for_update()
    )
    session.refresh(disbursement)


def available_balance(session: Session, campaign: Campaign) -> Money:
    """What the campaign's fund holds now, from the ledger."""
    summary = campaign_summary(session, campaign.public_id).in_currency(campaign.currency)
    return Money(summary.available, campaign.currency)


def ledger_memo(disbursement: Disbursement) -> str:
    """The public memo of the entry: the request number and category, never the payee."""
    return f"disbursement {disbursement.id} ({disbursement.category})"


def approve_disbursement(
    session: Session, *, actor: User, disbursement: Disbursement, note: str = ""
) -> Disbursement:
    """Approve a request and post it to the ledger with its evidence digests."""
    campaign = disbursement.campaign
    _require_decider(session, actor, disbursement)
    _require_other_person(actor, disbursement)
    lock_for_decision(session, disbursement)
    _require_pending(disbursement)
    note = clean_text(note, field="reason", maximum=REASON_MAX)
    if campaign.state not in SPENDING_STATES:
        raise Conflict(_("The campaign is not live or closed, so its money cannot be paid out."))
    if not disbursement.evidence:
        raise Conflict(_("Add at least one evidence file before this request can be approved."))
    if all(evidence.is_withheld for evidence in disbursement.evidence):
        # Nobody can check a withheld file any more; its digest alone proves nothing.
        raise Conflict(
            _(
                "Every evidence file of this request was withheld to protect a child it "
                "shows; add other evidence before it can be approved."
            )
        )
    available = available_balance(session, campaign)
    if disbursement.amount > available:
        raise Conflict(
            _(
                "The campaign holds %(available)s, less than the %(amount)s requested; "
                "it cannot be approved until more money has arrived.",
                available=str(available),
                amount=str(disbursement.amount),
            ),
            field="amount",
        )
    fund = rules.fund_account(campaign.public_id)
    now = utcnow()
    try:
        entry = append_entry(
            session,
            campaign=campaign.public_id,
            kind=rules.DISBURSEMENT,
            postings=[
                Posting(fund, disbursement.amount_minor, disbursement.currency),
                Posting(rules.PAYEE_ACCOUNT, -disbursement.amount_minor, disbursement.currency),
            ],
            occurred_at=now,
            ref=f"disbursement:{disbursement.id}",
            memo=ledger_memo(disbursement),
            evidence=[e.sha256 for e in disbursement.evidence],
        )
    except InvalidEntry as exc:
        raise Conflict(
            _("The ledger refused this disbursement: %(reason)s", reason=exc.message)
        ) from None
    disbursement.state = DisbursementState.APPROVED.value
    disbursement.ledger_seq = entry.seq
    disbursement.decided_by_id = actor.id
    disbursement.decided_at = now
    disbursement.decision_reason = note or None
    log_step(
        session,
        campaign=campaign,
        actor=actor,
        kind=ActivityKind.APPROVED,
        disbursement=disbursement,
        ledger_seq=entry.seq,
        amount_minor=disbursement.amount_minor,
        currency=disbursement.currency,
        evidence=sorted(e.sha256 for e in disbursement.evidence),
        note=note,
    )
    session.flush()
    return disbursement


def reject_disbursement(
    session: Session, *, actor: User, disbursement: Disbursement, reason: str
) -> Disbursement:
    """Turn a request down with a reason the organisers can act on; nothing is posted."""
    _require_decider(session, actor, disbursement)
    _require_other_person(actor, disbursement)
    lock_for_decision(session, disbursement)
    _require_pending(disbursement)
    reason = clean_text(
        reason, field="reason", maximum=REASON_MAX, required=_("Say why it is rejected.")
    )
    disbursement.state = DisbursementState.REJECTED.value
    disbursement.decided_by_id = actor.id
    disbursement.decided_at = utcnow()
    disbursement.decision_reason = reason
    log_step(
        session,
        campaign=disbursement.campaign,
        actor=actor,
        kind=ActivityKind.REJECTED,
        disbursement=disbursement,
        reason=reason,
    )
    session.flush()
    return disbursement


def reverse_disbursement(
    session: Session, *, actor: User, disbursement: Disbursement, reason: str
) -> Disbursement:
    """Undo an approved disbursement with a ``reversal`` entry (the money is back in the fund)."""
    _require_decider(session, actor, disbursement)
    lock_for_decision(session, disbursement)
    if disbursement.state != DisbursementState.APPROVED or disbursement.ledger_seq is None:
        raise Conflict(_("Only an approved disbursement can be reversed."))
    reason = clean_text(
        reason, field="reason", maximum=REASON_MAX, required=_("Say why it is reversed.")
    )
    fund = rules.fund_account(disbursement.campaign.public_id)
    now = utcnow()
    try:
        entry = append_entry(
            session,
            campaign=disbursement.campaign.public_id,
            kind=rules.REVERSAL,
            postings=[
                Posting(fund, -disbursement.amount_minor, disbursement.currency),
                Posting(rules.PAYEE_ACCOUNT, disbursement.amount_minor, disbursement.currency),
            ],
            occurred_at=now,
            ref=f"disbursement:{disbursement.id}:reversal",
            memo=f"reversal of disbursement {disbursement.id}",
            reverses=disbursement.ledger_seq,
        )
    except InvalidEntry as exc:
        raise Conflict(
            _("The ledger refused the reversal: %(reason)s", reason=exc.message)
        ) from None
    disbursement.state = DisbursementState.REVERSED.value
    disbursement.reversal_seq = entry.seq
    disbursement.reversed_by_id = actor.id
    disbursement.reversed_at = now
    disbursement.reversal_reason = reason
    log_step(
        session,
        campaign=disbursement.campaign,
        actor=actor,
        kind=ActivityKind.REVERSED,
        disbursement=disbursement,
        ledger_seq=entry.seq,
        reverses=disbursement.ledger_seq,
        reason=reason,
    )
    session.flush()
    return disbursement
