"""Steps every disbursement operation shares: the activity log, cleaning and scanning text.

Kept apart from the operations so that requests (services.py), decisions (decisions.py)
and budgets (budget.py) write the log and check public text the same way.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import Campaign, CampaignState
from giving.disbursements.models import ActivityKind, Disbursement, DisbursementActivity
from giving.errors import ValidationError
from giving.scanner import check_public_text as scan_public_text

REASON_MAX = 2000
# Money moves only for campaigns that raised it; a frozen campaign's money is on hold.
SPENDING_STATES = (CampaignState.LIVE, CampaignState.CLOSED)


def log_step(
    session: Session,
    *,
    campaign: Campaign,
    actor: User | None,
    kind: ActivityKind,
    disbursement: Disbursement | None = None,
    **detail: object,
) -> DisbursementActivity:
    """Append one step to the campaign's activity log, in the caller's transaction."""
    row = DisbursementActivity(
        campaign_id=campaign.id,
        disbursement_id=disbursement.id if disbursement is not None else None,
        actor_id=actor.id if actor is not None else None,
        kind=kind.value,
        detail=detail,
    )
    session.add(row)
    return row


def check_public_text(session: Session, campaign: Campaign, text: str, *, field: str) -> None:
    """Refuse text bound for the public that could identify a child: identity-card and phone
    numbers and the campaign's registered children's codes (giving/scanner.py). Every
    public disbursement text (description, groups reached, captions) passes through here."""
    if text:
        scan_public_text(session, campaign, text, field=field)


def clean_text(value: str, *, field: str, maximum: int, required: str | None = None) -> str:
    value = (value or "").strip()
    if required is not None and not value:
        raise ValidationError(required, field=field)
    if len(value) > maximum:
        raise ValidationError(_("Use at most %(max)s characters.", max=maximum), field=field)
    return value
