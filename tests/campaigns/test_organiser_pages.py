"""Organisers at work in the browser's shoes: the campaign form, review, updates, invites."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from giving.accounts.models import Role, User
from giving.campaigns.models import Campaign, CampaignState
from giving.storage import app_storage
from tests.campaigns.factories import (
    image_bytes,
    log_in,
    make_admin,
    make_campaign,
    make_donor,
    make_host,
    make_organiser,
)


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Hot lunches in Guizhou",
        "summary": "A hot lunch every school day for 60 children.",
        "story": "Many pupils walk an hour to school **without breakfast**.",
        "language": "en",
        "goal": "5000.50",
        "currency": "CNY",
        "ends_on": "2099-06-30",
        "region": "CN-GZ",
        "category": "food",
    }
    data.update(overrides)
    return data


def post_multipart(client: FlaskClient, url: str, data: dict[str, Any]) -> Any:
    """POST a form with a file, encoded here in memory: the test client would spool a big
    body to a temporary file it never closes (a ResourceWarning, so an error here)."""
    fields = {
        name: FileStorage(value[0], filename=value[1]) if isinstance(value, tuple) else value
        for name, value in data.items()
    }
    boundary, body = encode_multipart(MultiDict(fields))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def campaign_titled(session: Session, title: str) -> Campaign | None:
    session.expire_all()
    return session.scalar(sa.select(Campaign).where(Campaign.title == title))


@pytest.fixture
def organiser(session: Session, client: FlaskClient) -> User:
    user = make_organiser(session, name="Chen Jing")
    log_in(client, user)
    return user


def test_an_organiser_creates_a_draft_with_a_cover(
    app: Flask, client: FlaskClient, session: Session, organiser: User
) -> None:
    assert client.get("/my/campaigns/new").status_code == 200
    cover = (io.BytesIO(image_bytes("PNG", (800, 450))), "lunch.png")
    response = post_multipart(client, "/my/campaigns/new", form_data(cover=cover))
    assert response.status_code == 302
    campaign = campaign_titled(session, "Hot lunches in Guizhou")
    assert campaign is not None
    assert response.headers["Location"].endswith(f"/my/campaigns/{campaign.public_id}")
    assert campaign.state == CampaignState.DRAFT
    assert (campaign.goal_minor, campaign.currency) == (500_050, "CNY")
    assert campaign.organiser_ids() == {organiser.id}
    assert campaign.cover_image_key is not None
    with app.app_context():
        stored = app_storage(app).read(campaign.cover_image_key)
    assert Image.open(io.BytesIO(stored)).size == (800, 450)
    mine = text(client.get("/my/campaigns"))
    assert "Hot lunches in Guizhou" in mine
    assert "Draft" in mine


def test_form_errors_are_shown_and_what_was_typed_is_kept(
    client: FlaskClient, session: Session, organiser: User
) -> None:
    response = client.post(
        "/my/campaigns/new",
        data=form_data(title="", goal="5000.555", region="CN-XX", summary="Kept summary"),
    )
    assert response.status_code == 400
    body = text(response)
    assert "at most two decimal places" in body
    assert "Not a valid choice" in body
    assert 'value="5000.555"' in body
    assert "Kept summary" in body
    assert "Many pupils walk an hour" in body
    assert 'aria-invalid="true"' in body
    assert campaign_titled(session, "") is None


@pytest.mark.parametrize(
    ("goal", "message"),
    [
        ("five thousand", "Enter the goal as a number"),
        ("0", "more than zero"),
        ("-10", "more than zero"),
        ("999999999999", "larger than Giving accepts"),
    ],
)
def test_goal_mistakes_are_explained(
    client: FlaskClient, organiser: User, goal: str, message: str
) -> None:
    response = client.post("/my/campaigns/new", data=form_data(goal=goal))
    assert response.status_code == 400
    assert message in text(response)


def test_an_end_date_in_the_past_is_refused_on_its_field(
    client: FlaskClient, organiser: User
) -> None:
    response = client.post("/my/campaigns/new", data=form_data(ends_on="2001-01-01"))
    assert response.status_code == 400
    body = text(response)
    assert "end date in the future" in body
    assert 'value="2001-01-01"' in body


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        pytest.param(
            (io.BytesIO(b"plain text pretending"), "photo.png"), "JPEG, PNG or WebP", id="fake-png"
        ),
        pytest.param(
            (io.BytesIO(image_bytes("GIF", mode="P")), "anim.gif"), "JPEG, PNG or WebP", id="gif"
        ),
        pytest.param(
            (io.BytesIO(b"\xff\xd8\xff" + b"\0" * (6 * 1024 * 1024)), "huge.jpg"),
            "under 5 MB",
            id="6-mib",
        ),
    ],
)
def test_bad_cover_uploads_are_refused_on_the_cover_field(
    client: FlaskClient, session: Session, organiser: User, upload: Any, message: str
) -> None:
    response = post_multipart(client, "/my/campaigns/new", form_data(cover=upload))
    assert response.status_code == 400
    body = text(response)
    assert re.search(r'id="cover-error">[^<]*' + re.escape(message), body)
    assert 'value="Hot lunches in Guizhou"' in body
    assert campaign_titled(session, "Hot lunches in Guizhou") is None


def test_a_request_over_the_size_limit_gets_the_413_page(
    make_app: Callable[..., Flask], session: Session
) -> None:
    app = make_app(MAX_CONTENT_LENGTH=64 * 1024)
    client = app.test_client()
    log_in(client, make_organiser(session))
    big = (io.BytesIO(b"\0" * (128 * 1024)), "big.jpg")
    response = post_multipart(client, "/my/campaigns/new", form_data(cover=big))
    assert response.status_code == 413
    assert "That file is too large" in text(response)


def test_a_donor_is_told_how_to_become_an_organiser(client: FlaskClient, session: Session) -> None:
    log_in(client, make_donor(session))
    for response in (
        client.get("/my/campaigns/new"),
        client.post("/my/campaigns/new", data=form_data()),
    ):
        assert response.status_code == 403
        assert "organiser role" in text(response)
    assert "organiser role" in text(client.get("/my/campaigns"))


def test_visitors_are_sent_to_log_in(client: FlaskClient) -> None:
    response = client.get("/my/campaigns/new")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_editing_keeps_values_and_sends_a_reviewed_campaign_back_to_draft(
    client: FlaskClient, session: Session, organiser: User
) -> None:
    campaign = make_campaign(session, owner=organiser, state=CampaignState.IN_REVIEW)
    page = text(client.get(f"/my/campaigns/{campaign.public_id}/edit"))
    assert 'value="5000.00"' in page
    assert "takes it back to draft" in page
    response = client.post(
        f"/my/campaigns/{campaign.public_id}/edit",
        data=form_data(title="School books, revised", goal="5000", region="CN-SC"),
    )
    assert response.status_code == 302
    session.expire_all()
    assert campaign.title == "School books, revised"
    assert campaign.state == CampaignState.DRAFT
    assert campaign.slug == "school-books-revised"


def test_a_live_campaigns_goal_cannot_be_changed(
    client: FlaskClient, session: Session, organiser: User
) -> None:
    campaign = make_campaign(session, owner=organiser, state=CampaignState.LIVE)
    response = client.post(f"/my/campaigns/{campaign.public_id}/edit", data=form_data(goal="9000"))
    assert response.status_code == 409
    assert "cannot change once a campaign is live" in text(response)
    assert 'value="9000"' in text(response)


def test_someone_elses_campaign_cannot_be_edited_or_managed(
    client: FlaskClient, session: Session, organiser: User
) -> None:
    other = make_campaign(session, state=CampaignState.LIVE)
    base = f"/my/campaigns/{other.public_id}"
    assert client.get(f"{base}/edit").status_code == 403
    assert client.post(f"{base}/edit", data=form_data()).status_code == 403
    assert client.get(base).status_code == 403
    assert client.post(f"{base}/close").status_code == 403
    assert (
        client.post(f"{base}/updates", data={"update-title": "x", "update-body": "y"}).status_code
        == 403
    )
    assert client.get("/my/campaigns/cdoesnotexist/edit").status_code == 404
    session.expire_all()
    assert other.state == CampaignState.LIVE


def test_submit_then_an_invalid_second_submit_is_a_409(
    client: FlaskClient, session: Session, organiser: User
) -> None:
    campaign = make_campaign(session, owner=organiser, host=make_host(session, make_admin(session)))
    manage = text(client.get(f"/my/campaigns/{campaign.public_id}"))
    assert "Submit for review" in manage
    response = client.post(f"/my/campaigns/{campaign.public_id}/submit")
    assert response.status_code == 302
    session.expire_all()
    assert campaign.state == CampaignState.IN_REVIEW
    again = client.post(f"/my/campaigns/{campaign.public_id}/submit")
    assert again.status_code == 409
    assert "Only a draft can be submitted" in text(again)
    assert client.post(f"/my/campaigns/{campaign.public_id}/close").status_code == 409


def test_a_rejected_campaign_shows_the_review_note(
    client: FlaskClient, session: Session, organiser: User
) -> None:
    from giving.campaigns import services

    campaign = make_campaign(session, owner=organiser, state=CampaignState.IN_REVIEW)
    services.reject(
        session, actor=make_admin(session), campaign=campaign, reason="Say who buys the food."
    )
    assert "Say who buys the food." in text(client.get("/my/campaigns"))
    assert "Say who buys the food." in text(client.get(f"/my/campaigns/{campaign.public_id}"))


def test_posting_an_update_and_closing(
    client: FlaskClient, session: Session, organiser: User
) -> None:
    campaign = make_campaign(session, owner=organiser, state=CampaignState.LIVE)
    base = f"/my/campaigns/{campaign.public_id}"
    empty = client.post(f"{base}/updates", data={"update-title": "Kept title", "update-body": ""})
    assert empty.status_code == 400
    assert 'value="Kept title"' in text(empty)
    posted = client.post(
        f"{base}/updates", data={"update-title": "Rice delivered", "update-body": "200 kg."}
    )
    assert posted.status_code == 302
    assert "Rice delivered" in text(client.get(f"/c/{campaign.slug}"))
    assert client.post(f"{base}/close").status_code == 302
    session.expire_all()
    assert campaign.state == CampaignState.CLOSED
    assert client.get(f"{base}/edit").status_code == 409


def test_inviting_and_accepting_a_co_organiser(
    app: Flask, client: FlaskClient, session: Session, organiser: User
) -> None:
    campaign = make_campaign(session, owner=organiser)
    base = f"/my/campaigns/{campaign.public_id}"
    bad = client.post(f"{base}/invitations", data={"invite-email": "not an email"})
    assert bad.status_code == 400
    assert "not valid" in text(bad)
    response = client.post(f"{base}/invitations", data={"invite-email": "wang.fang@example.org"})
    assert response.status_code == 200
    found = re.search(r'value="(http://127\.0\.0\.1:5000/invitations/[^"]+)"', text(response))
    assert found is not None
    path = found.group(1).removeprefix("http://127.0.0.1:5000")
    # The link is shown once; the manage page does not show it again.
    assert path not in text(client.get(base))

    visitor = app.test_client()
    assert "/account/login" in visitor.get(path).headers["Location"]

    wrong = app.test_client()
    log_in(wrong, make_donor(session, email="someone.else@example.org"))
    refused = wrong.get(path)
    assert refused.status_code == 403
    assert "different email address" in text(refused)
    assert wrong.post(path).status_code == 403

    friend = make_donor(session, email="wang.fang@example.org")
    invited = app.test_client()
    log_in(invited, friend)
    page = invited.get(path)
    assert page.status_code == 200
    assert "Accept the invitation" in text(page)
    accepted = invited.post(path)
    assert accepted.status_code == 302
    session.expire_all()
    assert friend.id in campaign.organiser_ids()
    assert friend.has_role(Role.ORGANISER)
    used = invited.get(path)
    assert used.status_code == 409
    assert "already been used" in text(used)
    assert invited.get("/invitations/not-a-real-token").status_code == 404
