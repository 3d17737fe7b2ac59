"""The app starts, serves the home page and reaches its database."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_home_page_renders(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"<html" in response.data


def test_health_check_touches_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.get_json() == {"status": "ok"}
