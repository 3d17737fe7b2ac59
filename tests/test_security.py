"""Security basics: CSRF, rate limits (memory and Redis), headers and production settings."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from giving.config import load_settings
from giving.errors import ConfigError
from giving.security import CONTENT_SECURITY_POLICY

PASSWORD = "correct horse battery"
# Never connected to by these tests: limiter storage connects on first use.
SHARED_LIMIT_STORE = "redis://127.0.0.1:1/0"
PRODUCTION = {
    "GIVING_ENV": "production",
    "SECRET_KEY": "x" * 40,
    "DATABASE_URL": "postgres://db/giving",
    "GIVING_DATA_KEY": "d" * 40,
}


def test_forms_refuse_a_post_without_the_csrf_token(make_app: Callable[..., Flask]) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post(
        "/account/register",
        data={
            "display_name": "X",
            "email": "x@example.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_pages_carry_security_headers_and_a_strict_csp(client: object) -> None:
    response = client.get("/account/login")  # type: ignore[attr-defined]
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_use_no_inline_script_or_style(client: object) -> None:
    """The CSP forbids inline code, so a page that used it would break in browsers."""
    for path in ("/", "/account/login", "/account/register", "/does-not-exist"):
        body = client.get(path).get_data(as_text=True)  # type: ignore[attr-defined]
        assert "<script>" not in body.replace(" ", "")
        assert "style=" not in body
        assert "<style" not in body


def _hammer_login(app: Flask, attempts: int) -> list[int]:
    client = app.test_client()
    return [
        client.post(
            "/account/login", data={"email": "nobody@example.org", "password": "wrong password"}
        ).status_code
        for _ in range(attempts)
    ]


def test_log_in_is_rate_limited_in_memory(make_app: Callable[..., Flask]) -> None:
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=uuid.uuid4().hex,
    )
    codes = _hammer_login(app, 11)
    assert codes[:10] == [400] * 10
    assert codes[10] == 429


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL not set")
def test_log_in_is_rate_limited_through_redis(make_app: Callable[..., Flask]) -> None:
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=os.environ["TEST_REDIS_URL"],
        RATELIMIT_KEY_PREFIX=uuid.uuid4().hex,
    )
    codes = _hammer_login(app, 11)
    assert codes[10] == 429
    # A second app instance (another gunicorn worker) shares the count through Redis.
    other = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=os.environ["TEST_REDIS_URL"],
        RATELIMIT_KEY_PREFIX=app.config["RATELIMIT_KEY_PREFIX"],
    )
    assert _hammer_login(other, 1) == [429]


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({"GIVING_ENV": "production", "DATABASE_URL": "postgresql://db/giving"})
    with pytest.raises(ConfigError, match="PostgreSQL"):
        load_settings({"GIVING_ENV": "production", "SECRET_KEY": "x" * 40})
    production = {
        "GIVING_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "postgres://db/giving",
        "REDIS_URL": SHARED_LIMIT_STORE,
    }
    with pytest.raises(ConfigError, match="GIVING_DATA_KEY"):
        load_settings(production)
    settings = load_settings({**production, "GIVING_DATA_KEY": "d" * 40})
    assert settings.database_url == "postgresql+psycopg://db/giving"


def test_production_refuses_rate_limits_counted_in_each_workers_memory() -> None:
    with pytest.raises(ConfigError, match="rate-limit store shared by every worker"):
        load_settings(PRODUCTION)
    with pytest.raises(ConfigError, match="rate-limit store shared by every worker"):
        load_settings(
            {**PRODUCTION, "REDIS_URL": SHARED_LIMIT_STORE, "RATELIMIT_STORAGE_URI": "memory://"}
        )
    assert load_settings({**PRODUCTION, "REDIS_URL": SHARED_LIMIT_STORE}).rate_limit_storage == (
        SHARED_LIMIT_STORE
    )
    own = "memcached://127.0.0.1:11211"
    assert load_settings({**PRODUCTION, "RATELIMIT_STORAGE_URI": own}).rate_limit_storage == own


def test_development_says_at_start_up_that_limits_are_per_process(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="giving"):
        app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert any("counted per process" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="giving"):
        make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=SHARED_LIMIT_STORE)
    assert not any("counted per process" in r.getMessage() for r in caplog.records)


def test_the_limit_store_comes_from_the_environment() -> None:
    assert load_settings({}).rate_limit_storage == "memory://"
    assert load_settings({"REDIS_URL": SHARED_LIMIT_STORE}).rate_limit_storage == (
        SHARED_LIMIT_STORE
    )


def test_suppression_threshold_never_goes_below_five() -> None:
    with pytest.raises(ConfigError, match="below 5"):
        load_settings({"GIVING_SUPPRESSION_THRESHOLD": "3"})
    with pytest.raises(ConfigError, match="whole number"):
        load_settings({"GIVING_SUPPRESSION_THRESHOLD": "ten"})
    assert load_settings({}).suppression_threshold == 10


def test_production_cookies_are_secure(
    make_app: Callable[..., Flask], database_url: str, tmp_path: object
) -> None:
    from giving import create_app

    settings = load_settings(
        {
            "GIVING_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "DATABASE_URL": "postgresql://127.0.0.1/unused",
            "GIVING_DATA_KEY": "k" * 40,
            "GIVING_INSTANCE": str(tmp_path),
            "REDIS_URL": SHARED_LIMIT_STORE,
        }
    )
    app = create_app(settings=settings)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_password_change_refuses_guessing_the_current_password(
    make_app: Callable[..., Flask], session: Session
) -> None:
    """Someone holding a logged-in session must not be able to try current passwords freely."""
    from giving.accounts.services import register_user

    register_user(session, email="held@example.org", password=PASSWORD, display_name="Held")
    session.commit()
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=uuid.uuid4().hex,
    )
    client = app.test_client()
    client.post("/account/login", data={"email": "held@example.org", "password": PASSWORD})
    guess = {"new": "a new passphrase", "confirm": "a new passphrase"}
    codes = [
        client.post("/account/password", data={**guess, "current": f"guess number {n}"}).status_code
        for n in range(12)
    ]
    assert codes[:5] == [400] * 5
    assert set(codes[5:]) == {429}
    # Refused before the password is even checked: the right one fails too until the window ends.
    right = client.post("/account/password", data={**guess, "current": PASSWORD})
    assert right.status_code == 429


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL not set")
def test_checkouts_are_limited_once_across_workers_through_redis(
    make_app: Callable[..., Flask], session: Session
) -> None:
    """Two workers (app instances) share one count: 20 a minute in all, not 20 each."""
    from giving.campaigns.models import CampaignState
    from tests.campaigns.factories import make_campaign

    campaign = make_campaign(session, state=CampaignState.LIVE)
    shared = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": os.environ["TEST_REDIS_URL"],
        "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
    }
    workers = [make_app(**shared).test_client(), make_app(**shared).test_client()]
    path = f"/campaigns/{campaign.public_id}/give"
    # The form's defaults start a sandbox checkout (303), alternately on each worker.
    codes = [workers[n % 2].post(path, data={}).status_code for n in range(21)]
    assert codes[:20] == [303] * 20
    assert codes[20] == 429
    assert workers[0].post(path, data={}).status_code == 429
