"""Who may see and do what with a campaign's books; one place, so every page agrees.

* The *books* (requests, private evidence, payees, the activity log) are for the campaign's
  organisers, every member of its host organisation, auditors and admins. Anyone else is told
  the page does not exist.
* Organisers request disbursements, add evidence and publish redacted copies.
* The host's finance members and admins decide (approve, reject, reverse), never on a request
  they made themselves.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.auditors.services import has_auditor_access
from giving.campaigns.models import Campaign
from giving.hosts.services import host_role, is_host_finance


def is_auditor(session: Session, actor: User | None, campaign: Campaign) -> bool:
    """Admins, and auditors holding an active, time-limited grant for this campaign."""
    return actor is not None and (actor.is_admin or has_auditor_access(session, actor, campaign))


def can_view_books(session: Session, actor: User | None, campaign: Campaign) -> bool:
    if actor is None:
        return False
    return (
        is_auditor(session, actor, campaign)
        or campaign.is_organiser(actor)
        or host_role(session, actor, campaign) is not None
    )


def can_decide(session: Session, actor: User | None, campaign: Campaign) -> bool:
    """Approving, rejecting and reversing: the host's finance members and admins."""
    if actor is None:
        return False
    return actor.is_admin or is_host_finance(session, actor, campaign)


def can_request(actor: User | None, campaign: Campaign) -> bool:
    return campaign.is_organiser(actor)
