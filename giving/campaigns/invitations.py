"""Inviting co-organisers: a one-time link for one email address.

There is no outgoing mail yet, so the organiser copies the link from the page and sends it
themselves. Only the token's SHA-256 is stored: someone who reads the database (or a backup)
cannot accept an invitation, and the organiser sees the token exactly once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import Role, User, UserRole
from giving.accounts.services import find_user_by_email, normalise_email
from giving.audit.services import record_action
from giving.campaigns.models import (
    Campaign,
    CampaignInvitation,
    CampaignOrganiser,
    CampaignState,
    OrganiserRole,
)
from giving.db import utcnow
from giving.errors import Conflict, NotFound, PermissionDenied

INVITATION_LIFETIME = dt.timedelta(days=7)
_OPEN_STATES = (CampaignState.DRAFT, CampaignState.IN_REVIEW, CampaignState.LIVE)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invitation(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    email: str,
    now: dt.datetime | None = None,
) -> tuple[CampaignInvitation, str]:
    """Invite ``email`` to co-organise; returns the invitation and the token to share."""
    if not campaign.is_organiser(actor):
        raise PermissionDenied(_("Only this campaign's organisers can invite co-organisers."))
    if campaign.state not in _OPEN_STATES:
        raise Conflict(_("A closed or frozen campaign cannot take on new organisers."))
    address = normalise_email(email)
    existing = find_user_by_email(session, address)
    if existing is not None and campaign.is_organiser(existing):
        raise Conflict(_("That person already organises this campaign."), field="email")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    invitation = CampaignInvitation(
        campaign_id=campaign.id,
        email=address,
        token_sha256=hash_token(token),
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    record_action(
        session,
        actor_id=actor.id,
        action="campaign.invitation_created",
        subject_type="campaign",
        subject_id=campaign.public_id,
        invitation_id=invitation.id,
        email=address,
    )
    return invitation, token


def find_invitation(session: Session, token: str) -> CampaignInvitation:
    invitation = session.scalar(
        sa.select(CampaignInvitation).where(CampaignInvitation.token_sha256 == hash_token(token))
    )
    if invitation is None:
        raise NotFound(_("This invitation link is not valid. Check that you copied all of it."))
    return invitation


def check_invitation(
    invitation: CampaignInvitation, *, actor: User, now: dt.datetime | None = None
) -> None:
    """Raise the reason ``actor`` cannot accept ``invitation`` now, if there is one."""
    if invitation.accepted_at is not None:
        raise Conflict(_("This invitation has already been used."))
    if (now or utcnow()) >= invitation.expires_at:
        raise Conflict(_("This invitation has expired. Ask the organiser to send you a new one."))
    if actor.email != invitation.email:
        raise PermissionDenied(
            _(
                "This invitation was sent to a different email address. Log in with the "
                "account for that address to accept it."
            )
        )
    campaign = invitation.campaign
    if campaign.is_organiser(actor):
        raise Conflict(_("You already organise this campaign."))
    if campaign.state not in _OPEN_STATES:
        raise Conflict(_("A closed or frozen campaign cannot take on new organisers."))


def accept_invitation(
    session: Session, *, actor: User, token: str, now: dt.datetime | None = None
) -> Campaign:
    """Make ``actor`` a co-organiser, granting the organiser role if they lack it."""
    invitation = find_invitation(session, token)
    now = now or utcnow()
    check_invitation(invitation, actor=actor, now=now)
    campaign = invitation.campaign
    if not actor.has_role(Role.ORGANISER):
        actor.role_rows.append(UserRole(role=Role.ORGANISER.value))
        record_action(
            session,
            actor_id=actor.id,
            action="user.role_granted",
            subject_type="user",
            subject_id=actor.id,
            role=Role.ORGANISER.value,
            via="invitation",
            invitation_id=invitation.id,
        )
    campaign.organisers.append(
        CampaignOrganiser(user_id=actor.id, role=OrganiserRole.CO_ORGANISER.value)
    )
    invitation.accepted_at = now
    invitation.accepted_by_id = actor.id
    record_action(
        session,
        actor_id=actor.id,
        action="campaign.co_organiser_added",
        subject_type="campaign",
        subject_id=campaign.public_id,
        invitation_id=invitation.id,
        user_id=actor.id,
    )
    session.flush()
    return campaign
