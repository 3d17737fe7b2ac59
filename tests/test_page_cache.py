"""The in-app micro-cache serves only what the app marked shareable, and only to strangers.

A burst of anonymous visitors costs one render per page per worker every few seconds; a
logged-in visitor, one with a session, or a page that sets a cookie is never answered from,
or stored in, memory.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from giving.campaigns.models import Campaign, CampaignState
from giving.i18n import LANGUAGE_COOKIE
from giving.page_cache import MARKER, PageCache, PageCacheMiddleware
from giving.payments.seeding import receipt_token, seed_gifts
from tests.campaigns.factories import log_in, make_campaign, make_donor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cached_app(make_app: Callable[..., Flask], clock: Clock) -> Flask:
    app = make_app(GIVING_PAGE_CACHE_SECONDS="5")
    middleware = app.wsgi_app
    assert isinstance(middleware, PageCacheMiddleware)
    middleware.clock = clock
    return app


@pytest.fixture
def cached(cached_app: Flask) -> FlaskClient:
    return cached_app.test_client()


def test_the_cache_is_on_by_default_and_off_with_zero(make_app: Callable[..., Flask]) -> None:
    assert isinstance(make_app(GIVING_PAGE_CACHE_SECONDS="5").wsgi_app, PageCacheMiddleware)
    assert not isinstance(make_app().wsgi_app, PageCacheMiddleware)  # the suite's default: 0


def test_a_public_page_is_served_from_memory_until_it_expires(
    cached: FlaskClient, session: Session, clock: Clock
) -> None:
    first = cached.get("/campaigns")
    assert first.status_code == 200
    make_campaign(session, state=CampaignState.LIVE, title="Tea gardens of Pu'er")
    session.flush()

    clock.now += 4
    hit = cached.get("/campaigns")
    assert hit.get_data() == first.get_data()
    assert hit.headers["Age"] == "4"
    assert hit.headers["ETag"] == first.headers["ETag"]

    clock.now += 1.5
    fresh = cached.get("/campaigns")
    assert "Tea gardens of Pu&#39;er" in fresh.get_data(as_text=True)
    assert "Age" not in fresh.headers


def test_a_stored_page_answers_a_conditional_request_with_304(cached: FlaskClient) -> None:
    first = cached.get("/")
    again = cached.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    head = cached.head("/")
    assert head.status_code == 200
    assert head.data == b""


def test_languages_are_kept_apart(cached: FlaskClient) -> None:
    english = cached.get("/", headers={"Accept-Language": "en"})
    chinese = cached.get("/", headers={"Accept-Language": "zh-CN"})
    assert english.get_data() != chinese.get_data()
    cached.set_cookie(LANGUAGE_COOKIE, "zh_Hans_CN", domain="giving.test")
    by_cookie = cached.get("/", headers={"Accept-Language": "en"})
    assert by_cookie.get_data() == chinese.get_data()


def test_visitors_with_a_session_always_reach_the_app(
    cached: FlaskClient, session: Session, clock: Clock
) -> None:
    cached.get("/campaigns")
    make_campaign(session, state=CampaignState.LIVE, title="Bicycles for Ningxia")
    session.flush()
    log_in(cached, make_donor(session))

    page = cached.get("/campaigns")

    assert "Bicycles for Ningxia" in page.get_data(as_text=True)
    assert "Age" not in page.headers


def test_pages_that_set_cookies_or_are_private_are_never_stored(
    make_app: Callable[..., Flask], session: Session
) -> None:
    app = make_app(GIVING_PAGE_CACHE_SECONDS="5", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login = client.get("/account/login")  # renders a CSRF token: a session cookie is set
    assert "Set-Cookie" in login.headers
    stranger = app.test_client()
    other = stranger.get("/account/login")
    assert "Set-Cookie" in other.headers  # rendered again, with the stranger's own token
    assert "Age" not in other.headers
    cache = app.extensions["giving.page_cache"]
    assert isinstance(cache, PageCache)
    assert cache.get(("http", "giving.test", "/account/login", "", "", ""), 0) is None


def test_a_settled_receipt_is_reused_by_its_link_but_never_marked_public(
    cached: FlaskClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    campaign: Campaign = make_campaign(session, state=CampaignState.LIVE)
    session.flush()
    seed_gifts(session_factory, campaign.public_id, 1)
    path = f"/donations/{receipt_token(campaign.public_id, 0)}"

    first = cached.get(path)
    second = cached.get(path)

    assert first.status_code == 200
    assert second.headers.get("Age") == "0"
    for response in (first, second):
        assert response.headers["Cache-Control"] == "no-store"  # still not for shared caches
        assert MARKER not in response.headers


def test_posts_pass_straight_through(cached: FlaskClient) -> None:
    response = cached.post("/account/login", data={})
    assert "Age" not in response.headers
    assert MARKER not in response.headers
