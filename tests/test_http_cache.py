"""HTTP caching: validators, 304s, who may share a response, and fingerprinted static files."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import CampaignState
from giving.http_cache import ONE_YEAR
from tests.campaigns.factories import log_in, make_campaign, make_donor


def _public(cache_control: str) -> bool:
    return "public" in cache_control and "private" not in cache_control


def test_anonymous_page_has_stable_etag_and_answers_304(client: FlaskClient) -> None:
    first = client.get("/")
    second = client.get("/")
    assert first.status_code == 200
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=30")
    assert "stale-while-revalidate=300" in first.headers["Cache-Control"]
    vary = {v.strip() for v in first.headers["Vary"].split(",")}
    assert {"Cookie", "Accept-Language"} <= vary
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_head_behaves_like_get_without_body(client: FlaskClient) -> None:
    get = client.get("/")
    head = client.head("/")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Cache-Control"] == get.headers["Cache-Control"]


def test_languages_get_different_etags(client: FlaskClient) -> None:
    english = client.get("/", headers={"Accept-Language": "en"})
    chinese = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert english.headers["ETag"] != chinese.headers["ETag"]


def test_etag_changes_when_content_changes(client: FlaskClient, session: Session) -> None:
    before = client.get("/")
    make_campaign(session, state=CampaignState.LIVE, title="A brand new live campaign")
    session.flush()
    after = client.get("/", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]


def test_logged_in_pages_are_private_and_unstored(client: FlaskClient, session: Session) -> None:
    log_in(client, make_donor(session))
    response = client.get("/")
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"]
    assert "no-store" in response.headers["Cache-Control"]


def test_a_page_whose_form_starts_a_session_is_not_shared(
    make_app: Callable[..., Flask], session: Session
) -> None:
    # With CSRF on, as in production, the log-in form puts a token into a new session: that
    # page belongs to one visitor and must not be handed to the next by a shared cache.
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.get("/account/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert not _public(response.headers["Cache-Control"])


def test_the_campaign_page_with_its_giving_form_is_shared_for_anonymous_visitors(
    make_app: Callable[..., Flask], session: Session
) -> None:
    # The anonymous giving form carries no token (the give view checks Origin instead), so
    # the page a burst of visitors asks for can be served by a cache.
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    campaign = make_campaign(session, state=CampaignState.LIVE)
    session.flush()
    for path in (f"/c/{campaign.slug}", f"/campaigns/{campaign.public_id}/give"):
        response = client.get(path)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "donate-form" in html
        assert 'name="csrf_token"' not in html
        assert _public(response.headers["Cache-Control"])
        assert "Set-Cookie" not in response.headers


def test_a_returning_visitor_with_a_session_gets_private_pages(client: FlaskClient) -> None:
    client.set_cookie("session", "anything", domain="giving.test")
    response = client.get("/verify")
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_responses_that_set_cookies_are_not_public(client: FlaskClient) -> None:
    response = client.get("/language/zh_Hans_CN?next=/")
    assert "Set-Cookie" in response.headers
    assert not _public(response.headers.get("Cache-Control", ""))


def test_posts_are_never_stored(client: FlaskClient) -> None:
    response = client.post("/login", data={})
    assert "no-store" in response.headers["Cache-Control"] or not _public(
        response.headers["Cache-Control"]
    )


def _static_links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_static_links_are_fingerprinted_and_immutable(client: FlaskClient) -> None:
    links = _static_links(client.get("/").get_data(as_text=True))
    css = next(link for link in links if "giving.css" in link)
    assert re.search(r"\?v=[0-9a-f]{16}$", css)
    response = client.get(css)
    response.close()
    assert response.status_code == 200
    cache_control = response.headers["Cache-Control"]
    assert "public" in cache_control
    assert f"max-age={ONE_YEAR}" in cache_control
    assert "immutable" in cache_control


@pytest.mark.parametrize("query", ["", "?v=0000000000000000"])
def test_unfingerprinted_or_stale_static_urls_work_briefly(client: FlaskClient, query: str) -> None:
    response = client.get("/static/giving.css" + query)
    response.close()
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert "max-age=300" in response.headers["Cache-Control"]


def test_fingerprint_follows_the_file_content(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "giving.css").write_text("body { color: black; }")

    def fingerprint() -> str:
        app = make_app()
        app.static_folder = str(static)
        with app.test_request_context():
            from flask import url_for

            return url_for("static", filename="giving.css")

    first = fingerprint()
    (static / "giving.css").write_text("body { color: navy; }")
    assert fingerprint() != first


def _fill(rule_arguments: set[str], values: dict[str, Any]) -> dict[str, Any] | None:
    if not rule_arguments <= values.keys():
        return None
    return {name: values[name] for name in rule_arguments}


def test_every_public_get_route_is_cacheable_or_deliberately_private(
    make_app: Callable[..., Flask], session: Session
) -> None:
    """A new route that forgets the policy fails here: public ones need an ETag.

    Each route is fetched by a first-time visitor (a fresh client, CSRF on as in production).
    """
    app = make_app(WTF_CSRF_ENABLED=True)
    campaign = make_campaign(session, state=CampaignState.LIVE)
    session.flush()
    values = {"slug": campaign.slug, "public_id": campaign.public_id}
    checked = public = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        args = _fill(set(rule.arguments), values)
        if args is None:
            continue
        url = rule.build(args)[1] if args else rule.rule
        response = app.test_client().get(url)
        response.close()
        cache_control = response.headers.get("Cache-Control", "")
        if response.status_code == 200:
            if _public(cache_control):
                assert "ETag" in response.headers, url
                public += 1
            else:
                assert "private" in cache_control or "no-store" in cache_control, url
        checked += 1
    assert checked > 10
    assert public > 5
