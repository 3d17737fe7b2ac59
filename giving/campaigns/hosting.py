"""Which host organisation holds a campaign's funds: choosing it, and a host's campaigns.

Campaign operations on the hosts' table (giving/hosts/models.py ``CampaignHosting``):
campaigns sit above hosts, which know organisations and members only.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.audit.services import record_action
from giving.campaigns.models import Campaign, CampaignState
from giving.errors import Conflict, PermissionDenied
from giving.hosts.models import CampaignHosting, HostOrganisation


def assign_host(
    session: Session, *, actor: User, campaign: Campaign, host: HostOrganisation
) -> CampaignHosting:
    """Choose the organisation that will hold ``campaign``'s funds.

    Organisers choose while the campaign is a draft; an admin may move a campaign later.
    """
    if not actor.is_admin:
        if not campaign.is_organiser(actor):
            raise PermissionDenied(_("Only this campaign's organisers can choose its host."))
        if campaign.state != CampaignState.DRAFT:
            raise Conflict(
                _(
                    "The host can only be chosen while the campaign is a draft; "
                    "ask an admin to change it."
                )
            )
    hosting = session.get(CampaignHosting, campaign.id)
    previous = hosting.host_id if hosting is not None else None
    if hosting is None:
        hosting = CampaignHosting(campaign_id=campaign.id, host_id=host.id, assigned_by_id=actor.id)
        session.add(hosting)
    else:
        hosting.host_id = host.id
        hosting.assigned_by_id = actor.id
    session.flush()
    session.refresh(hosting)
    record_action(
        session,
        actor_id=actor.id,
        action="campaign.host_assigned",
        subject_type="campaign",
        subject_id=campaign.public_id,
        host_id=host.id,
        previous_host_id=previous,
    )
    return hosting


def campaigns_hosted_by(session: Session, host: HostOrganisation) -> list[Campaign]:
    return list(
        session.scalars(
            sa.select(Campaign)
            .join(CampaignHosting, CampaignHosting.campaign_id == Campaign.id)
            .where(CampaignHosting.host_id == host.id)
            .order_by(Campaign.created_at.desc())
        )
    )
