"""The giving form without a token: anonymous gifts are guarded by the Origin check.

The campaign page must be shareable by caches (no token, no session), so the anonymous
form's POST is accepted only when the browser says it came from Giving's own page; a
logged-in donor's form still carries, and needs, its CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign, CampaignState
from giving.payments.models import DonationIntent
from tests.campaigns.factories import log_in, make_campaign, make_donor

GIFT = {"preset": "5000", "frequency": "one_off", "display_name": "Li Wei"}


@pytest.fixture
def csrf_client(make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app(WTF_CSRF_ENABLED=True).test_client()


@pytest.fixture
def live(session: Session) -> Campaign:
    campaign = make_campaign(session, state=CampaignState.LIVE)
    session.flush()
    return campaign


def _intents(session: Session) -> int:
    return session.query(DonationIntent).count()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/giving.test/c/x"},
        {"Origin": "http://giving.test.evil.example"},
    ],
    ids=["no origin", "foreign origin", "opaque origin", "foreign referer", "lookalike host"],
)
def test_an_anonymous_gift_from_elsewhere_is_refused(
    csrf_client: FlaskClient, session: Session, live: Campaign, headers: dict[str, str]
) -> None:
    response = csrf_client.post(f"/campaigns/{live.public_id}/give", data=GIFT, headers=headers)

    assert response.status_code == 400
    assert "Giving&#39;s own page" in response.get_data(as_text=True)
    assert _intents(session) == 0


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://giving.test"}, {"Referer": "http://giving.test/c/some-campaign"}],
    ids=["origin", "referer"],
)
def test_an_anonymous_gift_from_our_own_page_goes_to_checkout(
    csrf_client: FlaskClient, session: Session, live: Campaign, headers: dict[str, str]
) -> None:
    response = csrf_client.post(f"/campaigns/{live.public_id}/give", data=GIFT, headers=headers)

    assert response.status_code == 303, response.get_data(as_text=True)
    assert "/sandbox/checkout/" in response.headers["Location"]
    assert _intents(session) == 1


def test_a_logged_in_donor_needs_the_token_even_from_our_own_page(
    csrf_client: FlaskClient, session: Session, live: Campaign
) -> None:
    log_in(csrf_client, make_donor(session))
    own = {"Origin": "http://giving.test"}

    refused = csrf_client.post(f"/campaigns/{live.public_id}/give", data=GIFT, headers=own)
    assert refused.status_code == 400
    assert _intents(session) == 0

    page = csrf_client.get(f"/c/{live.slug}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    accepted = csrf_client.post(
        f"/campaigns/{live.public_id}/give",
        data={**GIFT, "csrf_token": token.group(1)},
        headers=own,
    )
    assert accepted.status_code == 303, accepted.get_data(as_text=True)
    assert _intents(session) == 1
