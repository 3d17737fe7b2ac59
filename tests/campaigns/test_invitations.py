"""Inviting co-organisers: one link, one person, one use, a week to use it."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.accounts.models import Role
from giving.audit.models import AuditEvent
from giving.campaigns import hosting, invitations, services
from giving.campaigns.models import CampaignInvitation, CampaignState
from giving.db import utcnow
from giving.errors import Conflict, NotFound, PermissionDenied
from tests.campaigns.factories import (
    make_admin,
    make_campaign,
    make_donor,
    make_host,
    make_organiser,
)


def test_an_invited_donor_becomes_a_co_organiser_and_an_organiser(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    friend = make_donor(session, email="wang.fang@example.org")
    invitation, token = invitations.create_invitation(
        session, actor=owner, campaign=campaign, email="Wang.Fang@Example.org "
    )
    assert invitation.email == "wang.fang@example.org"
    # Only the hash is kept: the token itself is nowhere in the database.
    assert invitation.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_sha256
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=7)

    invitations.accept_invitation(session, actor=friend, token=token)
    assert campaign.organiser_ids() == {owner.id, friend.id}
    assert {row.user_id: row.role for row in campaign.organisers}[friend.id] == "co_organiser"
    assert friend.has_role(Role.ORGANISER)
    assert invitation.accepted_by_id == friend.id
    actions = set(session.scalars(sa.select(AuditEvent.action)))
    assert {
        "campaign.invitation_created",
        "campaign.co_organiser_added",
        "user.role_granted",
    } <= actions

    # As a co-organiser they may now choose the campaign's host and submit it.
    hosting.assign_host(
        session, actor=friend, campaign=campaign, host=make_host(session, make_admin(session))
    )
    services.submit_for_review(session, actor=friend, campaign=campaign)
    assert campaign.state == CampaignState.IN_REVIEW


def test_an_invitation_works_only_once(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    friend = make_organiser(session, email="li.na@example.org")
    _, token = invitations.create_invitation(
        session, actor=owner, campaign=campaign, email=friend.email
    )
    invitations.accept_invitation(session, actor=friend, token=token)
    with pytest.raises(Conflict, match="already been used"):
        invitations.accept_invitation(session, actor=friend, token=token)


def test_an_expired_invitation_is_refused(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    friend = make_donor(session, email="zhao.lei@example.org")
    _, token = invitations.create_invitation(
        session,
        actor=owner,
        campaign=campaign,
        email=friend.email,
        now=utcnow() - dt.timedelta(days=8),
    )
    with pytest.raises(Conflict, match="expired"):
        invitations.accept_invitation(session, actor=friend, token=token)
    assert friend.id not in campaign.organiser_ids()


def test_someone_else_cannot_use_an_invitation(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    _, token = invitations.create_invitation(
        session, actor=owner, campaign=campaign, email="intended@example.org"
    )
    stranger = make_donor(session, email="stranger@example.org")
    with pytest.raises(PermissionDenied, match="different email"):
        invitations.accept_invitation(session, actor=stranger, token=token)
    assert not stranger.has_role(Role.ORGANISER)


def test_an_unknown_token_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        invitations.accept_invitation(session, actor=make_donor(session), token="made-up")


def test_only_organisers_of_the_campaign_invite_and_not_twice(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    with pytest.raises(PermissionDenied):
        invitations.create_invitation(
            session, actor=make_organiser(session), campaign=campaign, email="a@example.org"
        )
    with pytest.raises(Conflict) as caught:
        invitations.create_invitation(session, actor=owner, campaign=campaign, email=owner.email)
    assert caught.value.field == "email"
    assert session.scalar(sa.select(sa.func.count(CampaignInvitation.id))) == 0


def test_closed_campaigns_take_no_new_organisers(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=CampaignState.LIVE)
    friend = make_donor(session, email="late@example.org")
    _, token = invitations.create_invitation(
        session, actor=owner, campaign=campaign, email=friend.email
    )
    services.close(session, actor=owner, campaign=campaign)
    with pytest.raises(Conflict):
        invitations.accept_invitation(session, actor=friend, token=token)
    with pytest.raises(Conflict):
        invitations.create_invitation(
            session, actor=owner, campaign=campaign, email="other@example.org"
        )
