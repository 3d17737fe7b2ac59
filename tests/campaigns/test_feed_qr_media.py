"""Machine-readable companions of a campaign page: its Atom feed, QR code and cover image."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import segno
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from giving.campaigns import services
from giving.campaigns.models import CampaignState
from giving.storage import app_storage
from tests.campaigns.factories import (
    image_bytes,
    log_in,
    make_campaign,
    make_organiser,
)

ATOM = "{http://www.w3.org/2005/Atom}"
SVG = "{http://www.w3.org/2000/svg}"
BASE = "http://127.0.0.1:5000"


def parse_xml(data: bytes) -> ET.Element:
    """Parse XML the app itself produced (trusted, so the stdlib parser is fine)."""
    return ET.fromstring(data)  # noqa: S314


def test_the_feed_is_atom_with_one_entry_per_update(client: FlaskClient, session: Session) -> None:
    owner = make_organiser(session, name="Chen Jing")
    campaign = make_campaign(session, owner=owner, state=CampaignState.LIVE, title="Coats <&>")
    services.post_update(
        session, actor=owner, campaign=campaign, title="Coats bought", body="**40** coats"
    )
    services.post_update(
        session,
        actor=owner,
        campaign=campaign,
        title="Delivered",
        body="Handed out <script>alert(1)</script> today.",
    )
    response = client.get(f"/c/{campaign.slug}/feed.atom")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"

    feed = parse_xml(response.data)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "Coats <&>"
    feed_id = feed.findtext(f"{ATOM}id") or ""
    assert feed_id.startswith("tag:127.0.0.1,")
    assert feed_id.endswith(f":campaign:{campaign.public_id}")
    assert feed.findtext(f"{ATOM}updated", "").endswith("Z")
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {
        "self": f"{BASE}/c/{campaign.slug}/feed.atom",
        "alternate": f"{BASE}/c/{campaign.slug}",
    }
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "Chen Jing"

    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == ["Delivered", "Coats bought"]
    ids = {entry.findtext(f"{ATOM}id") for entry in entries}
    assert len(ids) == 2
    for entry in entries:
        assert entry.findtext(f"{ATOM}updated", "").endswith("Z")
        link = entry.find(f"{ATOM}link")
        assert link is not None
        assert (link.get("href") or "").startswith(f"{BASE}/c/{campaign.slug}#update-")
        content = entry.find(f"{ATOM}content")
        assert content is not None
        assert content.get("type") == "html"
    contents = [entry.findtext(f"{ATOM}content") or "" for entry in entries]
    assert "<script>" not in contents[0]
    assert "<strong>40</strong>" in contents[1]


def test_a_feed_without_updates_is_still_valid(client: FlaskClient, session: Session) -> None:
    campaign = make_campaign(session, state=CampaignState.LIVE)
    feed = parse_xml(client.get(f"/c/{campaign.slug}/feed.atom").data)
    assert feed.findall(f"{ATOM}entry") == []
    assert feed.findtext(f"{ATOM}updated")


def test_the_qr_code_is_an_svg_of_the_campaigns_public_address(
    client: FlaskClient, session: Session
) -> None:
    campaign = make_campaign(session, state=CampaignState.LIVE)
    response = client.get(f"/c/{campaign.slug}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "public" in response.headers["Cache-Control"]
    svg = parse_xml(response.data)
    assert svg.tag == f"{SVG}svg"
    assert svg.find(f"{SVG}title") is not None
    assert svg.find(f"{SVG}path") is not None
    # The served code carries exactly the campaign's absolute URL (same matrix as segno's).
    expected = io.BytesIO()
    segno.make(f"{BASE}/c/{campaign.slug}", error="m").save(
        expected, kind="svg", scale=4, border=2, xmldecl=True
    )
    served_path = svg.find(f"{SVG}path")
    expected_path = parse_xml(expected.getvalue()).find(f"{SVG}path")
    assert served_path is not None
    assert expected_path is not None
    assert served_path.get("d") == expected_path.get("d")


def test_covers_are_served_with_their_type_and_long_caching(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    with app.app_context():
        storage = app_storage(app)
    campaign = make_campaign(
        session,
        state=CampaignState.LIVE,
        cover=services.CoverUpload(data=image_bytes("WEBP"), storage=storage),
    )
    key = campaign.cover_image_key
    assert key is not None
    assert key.endswith(".webp")
    response = client.get(f"/media/covers/{key}")
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    cache = response.headers["Cache-Control"]
    assert "public" in cache
    assert "immutable" in cache
    assert "max-age=31536000" in cache
    assert Image.open(io.BytesIO(response.data)).format == "WEBP"
    etag = response.headers["ETag"]
    assert client.get(f"/media/covers/{key}", headers={"If-None-Match": etag}).status_code == 304


def test_unknown_and_unattached_files_are_not_served(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    with app.app_context():
        storage = app_storage(app)
    # A file in storage that is no campaign's cover (later: private evidence) stays private.
    loose_key = storage.save(b"private evidence", suffix=".jpg")
    assert client.get(f"/media/covers/{loose_key}").status_code == 404
    assert client.get("/media/covers/" + "0" * 32 + ".jpg").status_code == 404
    assert client.get("/media/covers/..%2Fgiving.db").status_code == 404


def test_a_drafts_cover_is_only_for_its_organisers_and_never_cached_publicly(
    app: Flask, session: Session
) -> None:
    owner = make_organiser(session)
    with app.app_context():
        storage = app_storage(app)
    campaign = make_campaign(
        session, owner=owner, cover=services.CoverUpload(data=image_bytes(), storage=storage)
    )
    url = f"/media/covers/{campaign.cover_image_key}"
    assert app.test_client().get(url).status_code == 404
    client = app.test_client()
    log_in(client, owner)
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert "private" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]
