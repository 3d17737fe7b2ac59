"""Admins review campaigns, freeze and feature them, and approve auditors, all on record."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.accounts.models import Role, User
from giving.audit.models import AuditEvent
from giving.campaigns.models import CampaignState
from tests.campaigns.factories import (
    log_in,
    make_admin,
    make_campaign,
    make_donor,
    make_organiser,
    make_user,
)

ADMIN_PAGES = ["/admin/reviews", "/admin/campaigns", "/admin/users"]


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


@pytest.fixture
def admin(session: Session, client: FlaskClient) -> User:
    user = make_admin(session, name="Admin Zhou")
    log_in(client, user)
    return user


def actions(session: Session) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_visitors_are_sent_to_log_in_and_others_refused(
    app: Flask, session: Session, path: str
) -> None:
    visitor = app.test_client().get(path)
    assert visitor.status_code == 302
    assert "/account/login" in visitor.headers["Location"]
    for user in (make_donor(session), make_organiser(session)):
        client = app.test_client()
        log_in(client, user)
        refused = client.get(path)
        assert refused.status_code == 403
        assert "Only admins" in text(refused)


def test_approving_without_the_admin_role_is_403(app: Flask, session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=CampaignState.IN_REVIEW)
    client = app.test_client()
    log_in(client, owner)
    assert client.post(f"/admin/campaigns/{campaign.public_id}/approve").status_code == 403
    session.expire_all()
    assert campaign.state == CampaignState.IN_REVIEW


def test_the_queue_lists_campaigns_in_review_and_approval_publishes(
    client: FlaskClient, session: Session, admin: User
) -> None:
    waiting = make_campaign(session, state=CampaignState.IN_REVIEW, title="Waiting one")
    make_campaign(session, title="Still a draft")
    queue = text(client.get("/admin/reviews"))
    assert "Waiting one" in queue
    assert "Still a draft" not in queue
    response = client.post(f"/admin/campaigns/{waiting.public_id}/approve")
    assert response.status_code == 302
    session.expire_all()
    assert waiting.state == CampaignState.LIVE
    assert "No campaigns are waiting" in text(client.get("/admin/reviews"))
    assert "campaign.approved" in actions(session)
    # The public can now read it.
    assert client.application.test_client().get(f"/c/{waiting.slug}").status_code == 200


def test_approving_twice_is_a_409(client: FlaskClient, session: Session, admin: User) -> None:
    campaign = make_campaign(session, state=CampaignState.LIVE)
    response = client.post(f"/admin/campaigns/{campaign.public_id}/approve")
    assert response.status_code == 409
    assert "Only a campaign that is in review" in text(response)
    assert client.post("/admin/campaigns/cnosuchthing0/approve").status_code == 404


def test_rejecting_needs_a_reason_which_the_organisers_then_see(
    client: FlaskClient, session: Session, admin: User
) -> None:
    campaign = make_campaign(session, state=CampaignState.IN_REVIEW)
    field = f"reject-{campaign.public_id}-reason"
    empty = client.post(f"/admin/campaigns/{campaign.public_id}/reject", data={field: "  "})
    assert empty.status_code == 400
    body = text(empty)
    assert f'id="{field}-error"' in body
    session.expire_all()
    assert campaign.state == CampaignState.IN_REVIEW

    done = client.post(
        f"/admin/campaigns/{campaign.public_id}/reject", data={field: "Add a budget table."}
    )
    assert done.status_code == 302
    session.expire_all()
    assert campaign.state == CampaignState.DRAFT
    assert campaign.review_note == "Add a budget table."


def test_freezing_needs_a_reason_shown_publicly_and_unfreezing_restores(
    client: FlaskClient, session: Session, admin: User
) -> None:
    campaign = make_campaign(session, state=CampaignState.LIVE, title="Under question")
    listing = text(client.get("/admin/campaigns"))
    assert "Under question" in listing
    field = f"freeze-{campaign.public_id}-reason"
    empty = client.post(f"/admin/campaigns/{campaign.public_id}/freeze", data={field: ""})
    assert empty.status_code == 400
    assert f'id="{field}-error"' in text(empty)

    frozen = client.post(
        f"/admin/campaigns/{campaign.public_id}/freeze", data={field: "Receipts missing"}
    )
    assert frozen.status_code == 302
    session.expire_all()
    assert campaign.state == CampaignState.FROZEN
    assert "Receipts missing" in text(client.get("/admin/campaigns?state=frozen"))

    assert client.post(f"/admin/campaigns/{campaign.public_id}/unfreeze").status_code == 302
    session.expire_all()
    assert campaign.state == CampaignState.LIVE
    assert client.post(f"/admin/campaigns/{campaign.public_id}/unfreeze").status_code == 409
    assert actions(session)[-2:] == ["campaign.frozen", "campaign.unfrozen"]


def test_featuring_puts_a_campaign_on_the_home_page(
    client: FlaskClient, session: Session, admin: User
) -> None:
    campaign = make_campaign(session, state=CampaignState.LIVE, title="Pick of the week")
    response = client.post(f"/admin/campaigns/{campaign.public_id}/feature", data={"featured": "1"})
    assert response.status_code == 302
    home = text(client.application.test_client().get("/"))
    assert home.index("Featured campaigns") < home.index("Pick of the week")
    client.post(f"/admin/campaigns/{campaign.public_id}/feature", data={"featured": "0"})
    session.expire_all()
    assert not campaign.featured
    bad = client.post(f"/admin/campaigns/{campaign.public_id}/feature", data={"featured": "yes"})
    assert bad.status_code == 400


def test_a_bad_state_filter_is_a_400(client: FlaskClient, admin: User) -> None:
    assert client.get("/admin/campaigns?state=nonsense").status_code == 400


def test_an_admin_approves_an_auditor_and_can_take_the_role_back(
    client: FlaskClient, session: Session, admin: User
) -> None:
    person = make_user(session, name="Auditor Liu", email="liu@audit.example.org")
    page = text(client.get("/admin/users?q=audit.example"))
    assert "Auditor Liu" in page
    assert "Admin Zhou" not in page

    granted = client.post(
        f"/admin/users/{person.id}/roles/grant", data={f"role-{person.id}-role": "auditor"}
    )
    assert granted.status_code == 302
    session.expire_all()
    assert person.has_role(Role.AUDITOR)

    revoked = client.post(f"/admin/users/{person.id}/roles/revoke", data={"role": "auditor"})
    assert revoked.status_code == 302
    session.expire_all()
    assert not person.has_role(Role.AUDITOR)
    assert actions(session)[-2:] == ["user.role_granted", "user.role_revoked"]

    bad = client.post(
        f"/admin/users/{person.id}/roles/grant", data={f"role-{person.id}-role": "king"}
    )
    assert bad.status_code == 400
    assert (
        client.post(
            "/admin/users/999999/roles/grant", data={"role-999999-role": "auditor"}
        ).status_code
        == 404
    )


def test_an_admin_cannot_remove_their_own_admin_role(
    client: FlaskClient, session: Session, admin: User
) -> None:
    response = client.post(f"/admin/users/{admin.id}/roles/revoke", data={"role": "admin"})
    assert response.status_code == 409
    session.expire_all()
    assert admin.is_admin


def test_an_admin_disables_an_account_from_the_users_page_which_logs_it_out(
    app: Flask, client: FlaskClient, session: Session, admin: User
) -> None:
    person = make_organiser(session, name="Wu Suspicious")
    theirs = app.test_client()
    log_in(theirs, person)
    assert theirs.get("/my/campaigns").status_code == 200

    response = client.post(f"/admin/users/{person.id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert "Disabled" in text(client.get("/admin/users"))
    assert theirs.get("/my/campaigns").status_code == 302
    assert "user.disabled" in actions(session)

    assert client.post(f"/admin/users/{person.id}/active", data={"active": "1"}).status_code == 302
    session.expire_all()
    assert person.active
    assert "user.enabled" in actions(session)


def test_an_admin_cannot_disable_their_own_account(
    client: FlaskClient, session: Session, admin: User
) -> None:
    assert client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}).status_code == 409
    assert client.post(f"/admin/users/{admin.id}/active", data={"active": "x"}).status_code == 400
    session.expire_all()
    assert admin.active
