"""Campaign rules as stories: who may create and change campaigns, and how states move."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from giving.accounts.models import Role
from giving.audit.models import AuditEvent
from giving.campaigns import hosting, services
from giving.campaigns.models import Campaign, CampaignState
from giving.db import utcnow
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.hosts.models import CampaignHosting
from giving.money import Money
from tests.campaigns.factories import (
    campaign_values,
    choose_host,
    make_admin,
    make_campaign,
    make_donor,
    make_host,
    make_organiser,
    make_user,
)


def audit_actions(session: Session, campaign: Campaign) -> list[str]:
    rows = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.subject_type == "campaign", AuditEvent.subject_id == campaign.public_id)
        .order_by(AuditEvent.id)
    )
    return [row.action for row in rows]


def edit(session: Session, campaign: Campaign, actor: object, **changes: object) -> Campaign:
    values = {
        "title": campaign.title,
        "summary": campaign.summary,
        "story": campaign.story,
        "language": campaign.language,
        "goal": campaign.goal,
        "ends_on": campaign.ends_on,
        "region": campaign.region,
        "category": campaign.category,
    }
    values.update(changes)
    return services.update_campaign(session, actor=actor, campaign=campaign, **values)  # type: ignore[arg-type]


# --- creating ----------------------------------------------------------------------------


def test_an_organiser_starts_a_draft_they_own(session: Session) -> None:
    owner = make_organiser(session)
    campaign = services.create_campaign(session, actor=owner, **campaign_values())
    assert campaign.state == CampaignState.DRAFT
    assert campaign.goal == Money(500_000, "CNY")
    assert campaign.organiser_ids() == {owner.id}
    assert campaign.organisers[0].role == "owner"
    assert re.fullmatch(r"c[a-z2-7]{12}", campaign.public_id)
    assert campaign.slug == "school-books-for-liangshan"
    assert audit_actions(session, campaign) == ["campaign.created"]


def test_a_donor_without_the_organiser_role_cannot_start_a_campaign(session: Session) -> None:
    donor = make_donor(session)
    with pytest.raises(PermissionDenied, match="organiser role"):
        services.create_campaign(session, actor=donor, **campaign_values())
    assert session.scalar(sa.select(sa.func.count(Campaign.id))) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "ab"}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"summary": ""}, "summary"),
        ({"summary": "x" * 301}, "summary"),
        ({"story": ""}, "story"),
        ({"goal": Money(0, "CNY")}, "goal"),
        ({"goal": Money(-5, "CNY")}, "goal"),
        ({"ends_on": dt.date(2020, 1, 1)}, "ends_on"),
        ({"ends_on": utcnow().date()}, "ends_on"),
        ({"region": "CN-XX"}, "region"),
        ({"category": "weapons"}, "category"),
        ({"language": "fr"}, "language"),
    ],
)
def test_bad_campaign_values_are_refused_on_their_field(
    session: Session, overrides: dict[str, object], field: str
) -> None:
    owner = make_organiser(session)
    with pytest.raises(ValidationError) as caught:
        services.create_campaign(session, actor=owner, **campaign_values(**overrides))
    assert caught.value.field == field


def test_a_campaign_without_an_end_date_is_fine(session: Session) -> None:
    campaign = make_campaign(session, ends_on=None)
    assert campaign.ends_on is None


# --- slugs and ids -----------------------------------------------------------------------


def test_slugs_from_the_same_title_are_numbered(session: Session) -> None:
    slugs = [make_campaign(session, title="Winter coats").slug for _ in range(3)]
    assert slugs == ["winter-coats", "winter-coats-2", "winter-coats-3"]


def test_a_chinese_title_falls_back_to_the_public_id(session: Session) -> None:
    campaign = make_campaign(session, title="山区学校的冬衣", language="zh")
    assert campaign.slug == campaign.public_id


def test_slugs_never_collide_with_fixed_routes(session: Session) -> None:
    assert make_campaign(session, title="New").slug == "new-campaign"


def test_a_draft_slug_follows_its_title_but_a_live_slug_is_fixed(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, title="Winter coats")
    public_id = campaign.public_id
    edit(session, campaign, owner, title="Warm winter coats")
    assert campaign.slug == "warm-winter-coats"

    choose_host(session, campaign)
    services.submit_for_review(session, actor=owner, campaign=campaign)
    services.approve(session, actor=make_admin(session), campaign=campaign)
    edit(session, campaign, owner, title="Warm coats for winter")
    assert campaign.slug == "warm-winter-coats"
    assert campaign.title == "Warm coats for winter"
    assert campaign.public_id == public_id


# --- editing -----------------------------------------------------------------------------


def test_only_the_campaigns_organisers_may_edit_it(session: Session) -> None:
    campaign = make_campaign(session)
    with pytest.raises(PermissionDenied):
        edit(session, campaign, make_organiser(session), title="Taken over")
    with pytest.raises(PermissionDenied):
        edit(session, campaign, make_admin(session), title="Edited by an admin")


def test_editing_a_campaign_in_review_sends_it_back_to_draft(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=CampaignState.IN_REVIEW)
    edit(session, campaign, owner, summary="A changed summary that reviewers have not seen.")
    assert campaign.state == CampaignState.DRAFT
    assert campaign.submitted_at is None
    assert audit_actions(session, campaign)[-2:] == [
        "campaign.updated",
        "campaign.returned_to_draft",
    ]


def test_saving_without_changes_records_nothing(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=CampaignState.IN_REVIEW)
    edit(session, campaign, owner)
    assert campaign.state == CampaignState.IN_REVIEW
    assert "campaign.updated" not in audit_actions(session, campaign)


def test_the_goal_is_locked_once_live_but_the_story_is_not(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=CampaignState.LIVE)
    with pytest.raises(Conflict) as caught:
        edit(session, campaign, owner, goal=Money(900_000, "CNY"))
    assert caught.value.field == "goal"
    with pytest.raises(Conflict):
        edit(session, campaign, owner, goal=Money(500_000, "USD"))
    edit(session, campaign, owner, story="New chapter of the story.")
    assert campaign.story == "New chapter of the story."
    assert campaign.state == CampaignState.LIVE


def test_the_goal_may_change_while_a_draft(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    edit(session, campaign, owner, goal=Money(12_345, "HKD"))
    assert campaign.goal == Money(12_345, "HKD")


def test_an_end_date_that_has_passed_may_stay_while_other_things_change(
    session: Session,
) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=CampaignState.LIVE)
    campaign.ends_on = utcnow().date() - dt.timedelta(days=1)
    edit(session, campaign, owner, summary="Thank you, the books arrived.")
    with pytest.raises(ValidationError):
        edit(session, campaign, owner, ends_on=utcnow().date() - dt.timedelta(days=2))


@pytest.mark.parametrize("state", [CampaignState.CLOSED, CampaignState.FROZEN])
def test_closed_and_frozen_campaigns_cannot_be_edited(
    session: Session, state: CampaignState
) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=state)
    with pytest.raises(Conflict):
        edit(session, campaign, owner, title="Another title")


# --- the state machine -------------------------------------------------------------------


def test_the_happy_path_from_draft_to_closed_is_audited(session: Session) -> None:
    owner = make_organiser(session)
    admin = make_admin(session)
    campaign = make_campaign(session, owner=owner)
    choose_host(session, campaign, admin=admin)
    services.submit_for_review(session, actor=owner, campaign=campaign)
    assert campaign.state == CampaignState.IN_REVIEW
    assert campaign.submitted_at is not None
    services.approve(session, actor=admin, campaign=campaign)
    assert campaign.state == CampaignState.LIVE
    assert campaign.published_at is not None
    services.close(session, actor=owner, campaign=campaign)
    assert campaign.state == CampaignState.CLOSED
    assert campaign.closed_at is not None
    assert audit_actions(session, campaign) == [
        "campaign.created",
        "campaign.host_assigned",
        "campaign.submitted",
        "campaign.approved",
        "campaign.closed",
    ]
    approved = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "campaign.approved"))
    assert approved is not None
    assert approved.actor_id == admin.id


def test_a_rejection_needs_a_reason_and_returns_the_campaign_with_it(session: Session) -> None:
    admin = make_admin(session)
    campaign = make_campaign(session, state=CampaignState.IN_REVIEW)
    with pytest.raises(ValidationError) as caught:
        services.reject(session, actor=admin, campaign=campaign, reason="   ")
    assert caught.value.field == "reason"
    assert campaign.state == CampaignState.IN_REVIEW

    services.reject(session, actor=admin, campaign=campaign, reason="Add how the books get there.")
    assert campaign.state == CampaignState.DRAFT
    assert campaign.review_note == "Add how the books get there."
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "campaign.rejected"))
    assert event is not None
    assert event.detail == {"reason": "Add how the books get there."}

    services.submit_for_review(session, actor=campaign.organisers[0].user, campaign=campaign)
    services.approve(session, actor=admin, campaign=campaign)
    assert campaign.review_note is None


def test_only_admins_review_and_never_their_own_campaigns(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=CampaignState.IN_REVIEW)
    with pytest.raises(PermissionDenied):
        services.approve(session, actor=owner, campaign=campaign)
    with pytest.raises(PermissionDenied):
        services.reject(session, actor=make_donor(session), campaign=campaign, reason="No")

    admin_organiser = make_user(session, roles=(Role.ORGANISER, Role.ADMIN))
    own = make_campaign(session, owner=admin_organiser, state=CampaignState.IN_REVIEW)
    with pytest.raises(PermissionDenied, match="another admin"):
        services.approve(session, actor=admin_organiser, campaign=own)


@pytest.mark.parametrize(
    ("state", "transition"),
    [
        (CampaignState.DRAFT, "approve"),
        (CampaignState.LIVE, "approve"),
        (CampaignState.IN_REVIEW, "submit"),
        (CampaignState.LIVE, "submit"),
        (CampaignState.DRAFT, "close"),
        (CampaignState.CLOSED, "close"),
        (CampaignState.DRAFT, "freeze"),
        (CampaignState.IN_REVIEW, "freeze"),
        (CampaignState.FROZEN, "freeze"),
        (CampaignState.LIVE, "unfreeze"),
        (CampaignState.DRAFT, "reject"),
        (CampaignState.CLOSED, "feature"),
    ],
)
def test_transitions_from_the_wrong_state_are_conflicts(
    session: Session, state: CampaignState, transition: str
) -> None:
    owner = make_organiser(session)
    admin = make_admin(session)
    campaign = make_campaign(session, owner=owner, admin=admin, state=state)
    before = audit_actions(session, campaign)
    actions = {
        "approve": lambda: services.approve(session, actor=admin, campaign=campaign),
        "submit": lambda: services.submit_for_review(session, actor=owner, campaign=campaign),
        "close": lambda: services.close(session, actor=owner, campaign=campaign),
        "freeze": lambda: services.freeze(session, actor=admin, campaign=campaign, reason="x"),
        "unfreeze": lambda: services.unfreeze(session, actor=admin, campaign=campaign),
        "reject": lambda: services.reject(session, actor=admin, campaign=campaign, reason="x"),
        "feature": lambda: services.set_featured(
            session, actor=admin, campaign=campaign, featured=True
        ),
    }
    with pytest.raises(Conflict):
        actions[transition]()
    assert campaign.state == state
    assert audit_actions(session, campaign) == before


def test_a_draft_without_a_host_cannot_be_submitted_and_nothing_changes(
    session: Session,
) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    with pytest.raises(Conflict, match="Choose the host organisation first") as caught:
        services.submit_for_review(session, actor=owner, campaign=campaign)
    assert caught.value.field == "host"
    session.expire_all()
    assert campaign.state == CampaignState.DRAFT
    assert campaign.submitted_at is None
    assert audit_actions(session, campaign) == ["campaign.created"]

    choose_host(session, campaign)
    services.submit_for_review(session, actor=owner, campaign=campaign)
    assert campaign.state == CampaignState.IN_REVIEW
    assert audit_actions(session, campaign)[-2:] == ["campaign.host_assigned", "campaign.submitted"]


def test_a_campaign_in_review_whose_host_was_removed_cannot_be_approved(
    session: Session,
) -> None:
    admin = make_admin(session)
    campaign = make_campaign(session, admin=admin, state=CampaignState.IN_REVIEW)
    # As if submitted before hosts were required, or its hosting row removed since.
    session.execute(sa.delete(CampaignHosting).where(CampaignHosting.campaign_id == campaign.id))
    before = audit_actions(session, campaign)
    with pytest.raises(Conflict, match="no host organisation") as caught:
        services.approve(session, actor=admin, campaign=campaign)
    assert caught.value.field == "host"
    session.expire_all()
    assert campaign.state == CampaignState.IN_REVIEW
    assert campaign.published_at is None
    assert audit_actions(session, campaign) == before
    assert "campaign.approved" not in before

    # Once it is in review only an admin may place it with a host; then it can go live.
    hosting.assign_host(session, actor=admin, campaign=campaign, host=make_host(session, admin))
    services.approve(session, actor=admin, campaign=campaign)
    assert campaign.state == CampaignState.LIVE


def test_a_draft_whose_end_date_passed_cannot_be_submitted(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    campaign.ends_on = utcnow().date()
    with pytest.raises(Conflict, match="end date"):
        services.submit_for_review(session, actor=owner, campaign=campaign)


@pytest.mark.parametrize("before", [CampaignState.LIVE, CampaignState.CLOSED])
def test_freezing_remembers_the_state_and_unfreezing_restores_it(
    session: Session, before: CampaignState
) -> None:
    admin = make_admin(session)
    campaign = make_campaign(session, admin=admin, state=before)
    with pytest.raises(ValidationError):
        services.freeze(session, actor=admin, campaign=campaign, reason="")
    services.freeze(session, actor=admin, campaign=campaign, reason="Receipts do not add up")
    assert campaign.state == CampaignState.FROZEN
    assert campaign.frozen_reason == "Receipts do not add up"
    services.unfreeze(session, actor=admin, campaign=campaign)
    assert campaign.state == before
    assert campaign.frozen_reason is None
    assert audit_actions(session, campaign)[-2:] == ["campaign.frozen", "campaign.unfrozen"]


def test_organisers_cannot_freeze_or_feature(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=CampaignState.LIVE)
    with pytest.raises(PermissionDenied):
        services.freeze(session, actor=owner, campaign=campaign, reason="Hiding it")
    with pytest.raises(PermissionDenied):
        services.set_featured(session, actor=owner, campaign=campaign, featured=True)


def test_an_admin_may_close_a_campaign_but_a_stranger_may_not(session: Session) -> None:
    campaign = make_campaign(session, state=CampaignState.LIVE)
    with pytest.raises(PermissionDenied):
        services.close(session, actor=make_organiser(session), campaign=campaign)
    services.close(session, actor=make_admin(session), campaign=campaign)
    assert campaign.state == CampaignState.CLOSED


def test_featuring_is_audited_and_cleared_when_frozen(session: Session) -> None:
    admin = make_admin(session)
    campaign = make_campaign(session, admin=admin, state=CampaignState.LIVE)
    services.set_featured(session, actor=admin, campaign=campaign, featured=True)
    services.set_featured(session, actor=admin, campaign=campaign, featured=True)
    assert campaign.featured
    services.freeze(session, actor=admin, campaign=campaign, reason="Investigating")
    assert not campaign.featured
    assert audit_actions(session, campaign).count("campaign.featured") == 1


# --- updates -----------------------------------------------------------------------------


def test_organisers_post_updates_once_live(session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    with pytest.raises(Conflict):
        services.post_update(session, actor=owner, campaign=campaign, title="Hi", body="Soon")
    choose_host(session, campaign)
    services.submit_for_review(session, actor=owner, campaign=campaign)
    services.approve(session, actor=make_admin(session), campaign=campaign)
    update = services.post_update(
        session, actor=owner, campaign=campaign, title="Books bought", body="All 40 sets."
    )
    assert campaign.updates == [update]
    assert audit_actions(session, campaign)[-1] == "campaign.update_posted"
    with pytest.raises(PermissionDenied):
        services.post_update(
            session, actor=make_organiser(session), campaign=campaign, title="x", body="y"
        )
    with pytest.raises(ValidationError) as caught:
        services.post_update(session, actor=owner, campaign=campaign, title="Empty", body=" ")
    assert caught.value.field == "body"


def test_services_run_in_a_cli_context_without_a_request(app: Flask, session: Session) -> None:
    # `giving demo` and jobs call these services inside an app context with no request, where
    # the visitor's language cannot be looked up; nothing on the happy path may need it.
    with app.app_context():
        owner = make_organiser(session)
        campaign = make_campaign(session, owner=owner, state=CampaignState.LIVE)
        services.post_update(session, actor=owner, campaign=campaign, title="News", body="Text")
        services.close(session, actor=owner, campaign=campaign)
    assert campaign.state == CampaignState.CLOSED


def test_the_public_id_can_never_be_changed(session: Session) -> None:
    campaign = make_campaign(session)
    with pytest.raises(ValueError, match="never changes"):
        campaign.public_id = "cxxxxxxxxxxxx"
