"""With CSRF protection on (as in production), a state-changing POST needs its token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import CampaignState
from tests.campaigns.factories import (
    log_in,
    make_admin,
    make_campaign,
    make_host,
    make_organiser,
)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True}


def token_from(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_submitting_without_a_token_is_refused(client: FlaskClient, session: Session) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, host=make_host(session, make_admin(session)))
    log_in(client, owner)
    refused = client.post(f"/my/campaigns/{campaign.public_id}/submit")
    assert refused.status_code == 400
    session.expire_all()
    assert campaign.state == CampaignState.DRAFT

    page = client.get(f"/my/campaigns/{campaign.public_id}").get_data(as_text=True)
    accepted = client.post(
        f"/my/campaigns/{campaign.public_id}/submit", data={"csrf_token": token_from(page)}
    )
    assert accepted.status_code == 302
    session.expire_all()
    assert campaign.state == CampaignState.IN_REVIEW


def test_approving_without_a_token_is_refused(client: FlaskClient, session: Session) -> None:
    campaign = make_campaign(session, state=CampaignState.IN_REVIEW)
    log_in(client, make_admin(session))
    assert client.post(f"/admin/campaigns/{campaign.public_id}/approve").status_code == 400
    session.expire_all()
    assert campaign.state == CampaignState.IN_REVIEW


def test_the_campaign_form_carries_a_token_and_a_rejection_form_its_prefixed_one(
    client: FlaskClient, session: Session
) -> None:
    owner = make_organiser(session)
    log_in(client, owner)
    page = client.get("/my/campaigns/new").get_data(as_text=True)
    assert token_from(page)
    campaign = make_campaign(session, state=CampaignState.IN_REVIEW)
    log_in(client, make_admin(session))
    queue = client.get("/admin/reviews").get_data(as_text=True)
    field = f"reject-{campaign.public_id}-csrf_token"
    found = re.search(rf'name="{field}"[^>]*value="([^"]+)"', queue)
    assert found is not None
    response = client.post(
        f"/admin/campaigns/{campaign.public_id}/reject",
        data={field: found.group(1), f"reject-{campaign.public_id}-reason": "Add receipts."},
    )
    assert response.status_code == 302
    session.expire_all()
    assert campaign.state == CampaignState.DRAFT
