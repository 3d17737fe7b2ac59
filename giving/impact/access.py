"""Who may see a campaign's children's registry and who may change it; one place for both.

* The registry is seen by the campaign's organisers, every member of its host organisation,
  its auditors (users with the auditor role holding an active grant for this campaign, see
  ``giving.reports.auditors``: children's records need more than a platform-wide role) and
  admins. For anyone else, visitors included, it does not exist: they get 404,
  never 403, so a guessed URL does not even confirm that a campaign registers children.
* Only the campaign's organisers add, import, edit, erase and link children. Those who may
  only look are told so (403): they already know the registry exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.auditors.services import has_auditor_access
from giving.campaigns.models import Campaign, CampaignState
from giving.errors import Conflict, NotFound, PermissionDenied
from giving.hosts.services import host_role


def can_view_registry(session: Session, actor: User | None, campaign: Campaign) -> bool:
    if actor is None or not actor.is_active:
        return False
    return (
        actor.is_admin
        or campaign.is_organiser(actor)
        or host_role(session, actor, campaign) is not None
        or has_auditor_access(session, actor, campaign)
    )


def can_manage_registry(actor: User | None, campaign: Campaign) -> bool:
    return campaign.is_organiser(actor)


def not_found() -> NotFound:
    return NotFound(_("We could not find that page."))


def registry_campaign(session: Session, public_id: str, *, actor: User | None) -> Campaign:
    """The campaign whose registry ``actor`` may see; NotFound for everyone else."""
    campaign = session.scalar(sa.select(Campaign).where(Campaign.public_id == public_id))
    if campaign is None or not can_view_registry(session, actor, campaign):
        raise not_found()
    return campaign


def require_viewer(session: Session, actor: User | None, campaign: Campaign) -> User:
    if actor is None or not can_view_registry(session, actor, campaign):
        raise not_found()
    return actor


def require_manager(session: Session, actor: User | None, campaign: Campaign) -> User:
    """The organiser changing the registry; 404 for strangers, 403 for read-only viewers."""
    viewer = require_viewer(session, actor, campaign)
    if not can_manage_registry(viewer, campaign):
        raise PermissionDenied(_("Only this campaign's organisers can change its registry."))
    return viewer


def require_not_frozen(campaign: Campaign) -> None:
    """A frozen campaign is under investigation: its records stay as they are (bar erasure)."""
    if campaign.state == CampaignState.FROZEN:
        raise Conflict(
            _("This campaign is frozen, so its registry cannot change except for erasures.")
        )
