"""Every ``next`` a request carries is followed only to a path on this site.

Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
``/%09/evil.example`` and ``/\\evil.example`` lead off the site as surely as
``//evil.example``; and a line break in a ``Location`` header is refused by the server, which
must not turn into a 500. Control characters and backslashes are therefore refused outright.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving import PROJECT_ROOT
from giving.accounts import services
from giving.redirects import safe_next

PASSWORD = "correct horse battery"

HOSTILE = [
    "//evil.example/phish",
    "/\t/evil.example/phish",
    "\t//evil.example/phish",
    "/\r\n/evil.example/phish",
    "/\n/evil.example",
    "/\\evil.example/phish",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " //evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\r\nSet-Cookie:x=1",
    "evil.example",
    "/c/bo\tok\ns",  # harmless as a browser reads it, but no page of ours writes it
    "",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_a_target_that_leaves_the_site_falls_back(target: str) -> None:
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/", "/"),
        ("/c/books?page=2#updates", "/c/books?page=2#updates"),
        ("/account/login", "/account/login"),
        ("/c/%E4%B9%A6", "/c/%E4%B9%A6"),
        ("/c/书", "/c/%E4%B9%A6"),
    ],
)
def test_a_path_on_this_site_is_followed(target: str, followed: str) -> None:
    assert safe_next(target, "/home") == followed


def _location(response: object) -> str:
    return str(response.headers["Location"])  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_stays_on_the_site(client: FlaskClient, target: str) -> None:
    response = client.get(f"/language/en?next={quote(target, safe='')}")
    if "\x00" in target:  # a NUL anywhere in a request is refused before any view runs
        assert response.status_code == 400
        return
    assert response.status_code == 302
    assert _location(response) == "/"


def test_the_address_from_the_issue_stays_on_the_site(client: FlaskClient) -> None:
    for query in ("next=/%09/evil.example/phish", "next=/%0d%0aSet-Cookie:x=1"):
        response = client.get(f"/language/en?{query}")
        assert response.status_code == 302, query
        assert _location(response) == "/", query
        assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_the_language_switch_follows_a_local_path(client: FlaskClient) -> None:
    response = client.get("/language/en?next=/c/books%3Fpage%3D2")
    assert _location(response) == "/c/books?page=2"


@pytest.mark.parametrize("target", [t for t in HOSTILE if "\x00" not in t])
@pytest.mark.parametrize("form", ["login", "register"])
def test_logging_in_or_registering_stays_on_the_site(
    client: FlaskClient, session: Session, target: str, form: str
) -> None:
    if form == "login":
        services.register_user(session, email="a@example.org", password=PASSWORD, display_name="A")
        session.commit()
        data = {"email": "a@example.org", "password": PASSWORD}
    else:
        data = {
            "display_name": "B",
            "email": "b@example.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
        }
    response = client.post(f"/account/{form}?next={quote(target, safe='')}", data=data)
    assert response.status_code == 302
    # Log-in goes home; registering asks the visitor to log in (it never says whether the
    # email already had an account), and the hostile target is dropped either way.
    assert _location(response) == ("/" if form == "login" else "/account/login")


def test_logging_in_follows_a_local_next(client: FlaskClient, session: Session) -> None:
    services.register_user(session, email="a@example.org", password=PASSWORD, display_name="A")
    session.commit()
    response = client.post(
        "/account/login?next=/my/campaigns",
        data={"email": "a@example.org", "password": PASSWORD},
    )
    assert _location(response) == "/my/campaigns"


def test_every_next_goes_through_the_one_helper() -> None:
    """A view that reads ``next`` itself would bypass the checks above."""
    reads_next = re.compile(r"""request\.(?:args|form|values)(?:\.get\(|\[)\s*["']next["']""")
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "giving").rglob("*.py")
        if path.name != "redirects.py" and reads_next.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
