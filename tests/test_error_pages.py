"""Failures a person can cause end in clear 4xx pages, never a 500."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient


def test_unknown_page_is_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "We could not find that page" in body
    assert "Go to the home page" in body


def test_wrong_method_is_a_405_page(client: FlaskClient) -> None:
    response = client.get("/account/logout")
    assert response.status_code == 405
    assert "not allowed" in response.get_data(as_text=True)


def test_oversized_request_is_a_413_page(make_app: Callable[..., Flask]) -> None:
    client = make_app(MAX_CONTENT_LENGTH=1024).test_client()
    response = client.post("/account/login", data={"email": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_unexpected_errors_show_the_500_page_without_details(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False, TESTING=False)

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong on our side" in body
    assert "secret internals" not in body


def test_api_errors_are_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404
