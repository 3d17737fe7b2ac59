"""Every disbursement and host route against every role, as one table of expected statuses.

302 means "sent to log in" for visitors and "done, redirected" for people allowed to act;
404 means the books are not shown to people who may not read them (not even that they exist);
403 means a books reader who may not do this particular thing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.disbursements import services
from giving.disbursements.models import Disbursement
from tests.campaigns.factories import log_in
from tests.disbursements.support import Story, image_bytes, pdf_bytes, upload

ROLES = (
    "visitor",
    "donor",
    "other_organiser",
    "organiser",
    "finance",
    "host_member",
    "auditor",
    "admin",
)


def _statuses(*codes: int) -> dict[str, int]:
    return dict(zip(ROLES, codes, strict=True))


#                      visitor donor other  organiser finance member auditor admin
PUBLIC = _statuses(200, 200, 200, 200, 200, 200, 200, 200)
BOOKS = _statuses(302, 404, 404, 200, 200, 200, 200, 200)
ORIGINAL = _statuses(404, 404, 404, 200, 200, 200, 200, 200)
ORGANISERS_ONLY = _statuses(302, 404, 404, 200, 403, 403, 403, 403)
ORGANISER_ACTS = _statuses(302, 404, 404, 302, 403, 403, 403, 403)
DECIDERS_ACT = _statuses(302, 404, 404, 403, 302, 403, 403, 302)
ADMINS_ONLY = _statuses(302, 403, 403, 403, 403, 403, 403, 200)
CHOOSE_HOST = _statuses(302, 403, 403, 200, 403, 403, 403, 200)
HOST_MEMBERS = _statuses(302, 404, 404, 404, 200, 200, 404, 404)


@dataclass(frozen=True)
class Route:
    """A route to try: ``prepare`` builds what it needs and returns (url, form data)."""

    name: str
    method: str
    prepare: Callable[[Story], tuple[str, dict[str, Any]]]
    expected: dict[str, int]


def _pending(story: Story) -> Disbursement:
    return story.request(10_000)


def _approved(story: Story) -> Disbursement:
    disbursement = story.request(10_000)
    services.approve_disbursement(story.session, actor=story.admin, disbursement=disbursement)
    return disbursement


def _published(story: Story) -> str:
    evidence = _approved(story).evidence[0]
    services.publish_redacted(
        story.session,
        actor=story.organiser,
        evidence=evidence,
        upload=upload(image_bytes("PNG")),
        storage=story.storage,
    )
    return evidence.token


def _books(story: Story, suffix: str = "") -> str:
    return f"/finance/{story.campaign.public_id}{suffix}"


def _on_request(disbursement: Disbursement, action: str = "") -> str:
    return f"/finance/{disbursement.campaign.public_id}/disbursements/{disbursement.id}{action}"


def _file(note: str) -> tuple[io.BytesIO, str]:
    return (io.BytesIO(pdf_bytes(note)), f"{note}.pdf")


def _new_request(story: Story) -> tuple[str, dict[str, Any]]:
    form = {
        "payee": "Bookshop",
        "amount": "12",
        "currency": "CNY",
        "category": "education",
        "spent_on": "2026-03-02",
        "description": "Exercise books",
        "evidence-0-file": _file("access"),
        "evidence-0-shows_children": "no",
    }
    return _books(story, "/disbursements/new"), form


def _redacted_copy(story: Story) -> tuple[str, dict[str, Any]]:
    evidence = _approved(story).evidence[0]
    url = _books(story, f"/evidence/{evidence.token}/redacted")
    return url, {f"redacted-{evidence.id}-file": _file("redacted")}


def _get(url: Callable[[Story], str]) -> Callable[[Story], tuple[str, dict[str, Any]]]:
    return lambda story: (url(story), {})


ROUTES = [
    Route("public spending page", "GET", _get(lambda s: f"/c/{s.campaign.slug}/spending"), PUBLIC),
    Route(
        "published redacted copy",
        "GET",
        _get(lambda s: f"/evidence/{_published(s)}/redacted"),
        PUBLIC,
    ),
    Route(
        "original evidence",
        "GET",
        _get(lambda s: f"/evidence/{_approved(s).evidence[0].token}/original"),
        ORIGINAL,
    ),
    Route("books overview", "GET", _get(_books), BOOKS),
    Route("activity log", "GET", _get(lambda s: _books(s, "/activity")), BOOKS),
    Route("request page", "GET", _get(lambda s: _on_request(_pending(s))), BOOKS),
    Route("budget form", "GET", _get(lambda s: _books(s, "/budget")), ORGANISERS_ONLY),
    Route(
        "set the budget",
        "POST",
        lambda s: (_books(s, "/budget"), {"food": "100"}),
        ORGANISER_ACTS,
    ),
    Route("request form", "GET", _get(lambda s: _books(s, "/disbursements/new")), ORGANISERS_ONLY),
    Route("send a request", "POST", _new_request, ORGANISER_ACTS),
    Route(
        "add evidence",
        "POST",
        lambda s: (
            _on_request(_pending(s), "/evidence"),
            {"evidence-0-file": _file("more"), "evidence-0-shows_children": "no"},
        ),
        ORGANISER_ACTS,
    ),
    Route("publish a redacted copy", "POST", _redacted_copy, ORGANISER_ACTS),
    Route("approve", "POST", lambda s: (_on_request(_pending(s), "/approve"), {}), DECIDERS_ACT),
    Route(
        "reject",
        "POST",
        lambda s: (_on_request(_pending(s), "/reject"), {"reason": "Blurry invoice"}),
        DECIDERS_ACT,
    ),
    Route(
        "reverse",
        "POST",
        lambda s: (_on_request(_approved(s), "/reverse"), {"reason": "Paid twice"}),
        DECIDERS_ACT,
    ),
    Route("host list", "GET", _get(lambda s: "/admin/hosts"), ADMINS_ONLY),
    Route("host registration form", "GET", _get(lambda s: "/admin/hosts/new"), ADMINS_ONLY),
    Route("host page", "GET", _get(lambda s: f"/admin/hosts/{s.host.id}"), ADMINS_ONLY),
    Route(
        "choose the host",
        "GET",
        _get(lambda s: f"/my/campaigns/{s.campaign.public_id}/host"),
        CHOOSE_HOST,
    ),
    Route("my host organisations", "GET", _get(lambda s: "/hosts/mine"), HOST_MEMBERS),
]


def _user(story: Story, role: str) -> User | None:
    return None if role == "visitor" else getattr(story, role)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_table_says(
    app: Flask, session: Session, story: Story, role: str
) -> None:
    actual: dict[str, int] = {}
    for route in ROUTES:
        client = app.test_client()
        user = _user(story, role)
        if user is not None:
            log_in(client, user)
        url, data = route.prepare(story)
        session.flush()
        if route.method == "GET":
            with client.get(url) as response:
                actual[route.name] = response.status_code
        else:
            with client.post(url, data=data, content_type="multipart/form-data") as response:
                actual[route.name] = response.status_code
        if actual[route.name] == 302 and role == "visitor":
            assert "/account/login" in response.headers["Location"], route.name
    expected = {route.name: route.expected[role] for route in ROUTES}
    assert actual == expected
