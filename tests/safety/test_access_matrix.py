"""Every route of the children's registry (and of the campaign's books) against every role.

Roles: a visitor, a donor, the organiser of another campaign, the campaign's organiser, a
finance member of its host, a plain host member, its auditor (auditor role with a grant for
this campaign), an auditor without a grant for it, and an admin.

The registry answers 404 to everyone who may not see it, visitors included, and 403 only to
those who may look but not change it. The books (giving/disbursements) ask visitors to log
in first, as that package documents; the auditor role alone opens them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from giving.accounts.models import Role, User
from giving.impact.services import register_child
from tests.campaigns.factories import log_in, make_user
from tests.disbursements.support import Story
from tests.impact.support import child_values, make_cipher
from tests.safety.seed import LeakStory

ROLES = (
    "visitor",
    "donor",
    "other_organiser",
    "organiser",
    "host_finance",
    "host_member",
    "auditor",
    "auditor_without_grant",
    "admin",
)
VIEWERS = {"organiser", "host_finance", "host_member", "auditor", "admin"}
STRANGERS = {"visitor", "donor", "other_organiser", "auditor_without_grant"}

HEADER = "code,age_band,sex,province,city,needs,consent,consent_date,notes\n"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    data: dict[str, Any] | None = None


Prepare = Callable[[LeakStory], Call]


def registry_read(ok: int = 200) -> dict[str, int]:
    return {role: ok if role in VIEWERS else 404 for role in ROLES}


def registry_write(ok: int) -> dict[str, int]:
    return {role: ok if role == "organiser" else 403 if role in VIEWERS else 404 for role in ROLES}


def books_read() -> dict[str, int]:
    return {role: 302 if role == "visitor" else 200 if role in VIEWERS else 404 for role in ROLES}


def books_write(ok: int, allowed: set[str]) -> dict[str, int]:
    viewers = VIEWERS
    return {
        role: 302
        if role == "visitor"
        else ok
        if role in allowed
        else 403
        if role in viewers
        else 404
        for role in ROLES
    }


def _registry(leak: LeakStory, suffix: str = "") -> str:
    return f"/registry/{leak.story.campaign.public_id}{suffix}"


def _fresh_child(leak: LeakStory) -> str:
    story = leak.story
    child = register_child(
        story.session,
        actor=story.organiser,
        campaign=story.campaign,
        values=child_values(),
        cipher=make_cipher(),
    )
    story.session.commit()
    return str(child.ref)


def _fresh_request(leak: LeakStory) -> int:
    request = leak.story.request(1_000)
    leak.story.session.commit()
    return request.id


def _child_form() -> dict[str, Any]:
    return {"age_band": "6-11", "sex": "female", "province": "CN-SC", "consent": ""}


ROUTES: dict[str, tuple[Prepare, dict[str, int]]] = {
    "registry list": (lambda lk: Call("GET", _registry(lk, "/children")), registry_read()),
    "child record": (
        lambda lk: Call("GET", _registry(lk, f"/children/{lk.children[0].ref}")),
        registry_read(),
    ),
    "erased child record": (
        lambda lk: Call("GET", _registry(lk, f"/children/{lk.erased_ref}")),
        dict.fromkeys(ROLES, 404),
    ),
    "access log": (lambda lk: Call("GET", _registry(lk, "/access-log")), registry_read()),
    "import template": (
        lambda lk: Call("GET", _registry(lk, "/children/template.csv")),
        registry_read(),
    ),
    "new child form": (lambda lk: Call("GET", _registry(lk, "/children/new")), registry_write(200)),
    "register a child": (
        lambda lk: Call("POST", _registry(lk, "/children/new"), _child_form()),
        registry_write(302),
    ),
    "import form": (lambda lk: Call("GET", _registry(lk, "/children/import")), registry_write(200)),
    "import a CSV": (
        lambda lk: Call(
            "POST",
            _registry(lk, "/children/import"),
            {"file": (io.BytesIO((HEADER + ",6-11,,CN-YN,,,no,,\n").encode()), "c.csv")},
        ),
        registry_write(302),
    ),
    "edit form": (
        lambda lk: Call("GET", _registry(lk, f"/children/{lk.children[0].ref}/edit")),
        registry_write(200),
    ),
    "edit a child": (
        lambda lk: Call("POST", _registry(lk, f"/children/{_fresh_child(lk)}/edit"), _child_form()),
        registry_write(302),
    ),
    "erase a child": (
        lambda lk: Call(
            "POST", _registry(lk, f"/children/{_fresh_child(lk)}/erase"), {"confirm": "y"}
        ),
        registry_write(302),
    ),
    "link children": (
        lambda lk: Call(
            "POST",
            _registry(lk, f"/disbursements/{lk.waiting.id}/children"),
            {"children": [lk.children[0].ref]},
        ),
        registry_write(302),
    ),
    "impact API": (
        lambda lk: Call("GET", f"/api/v1/campaigns/{lk.story.campaign.public_id}/impact"),
        dict.fromkeys(ROLES, 200),
    ),
    # The campaign's books (giving/disbursements), as that package documents them.
    "public spending page": (
        lambda lk: Call("GET", f"/c/{lk.story.campaign.slug}/spending"),
        dict.fromkeys(ROLES, 200),
    ),
    "books overview": (
        lambda lk: Call("GET", f"/finance/{lk.story.campaign.public_id}"),
        books_read(),
    ),
    "books activity": (
        lambda lk: Call("GET", f"/finance/{lk.story.campaign.public_id}/activity"),
        books_read(),
    ),
    "a request's page": (
        lambda lk: Call(
            "GET", f"/finance/{lk.story.campaign.public_id}/disbursements/{lk.paid.id}"
        ),
        books_read(),
    ),
    "original evidence": (
        lambda lk: Call("GET", f"/evidence/{lk.paid.evidence[0].token}/original"),
        {**books_read(), "visitor": 404},
    ),
    "budget form": (
        lambda lk: Call("GET", f"/finance/{lk.story.campaign.public_id}/budget"),
        books_write(200, {"organiser"}),
    ),
    "new request form": (
        lambda lk: Call("GET", f"/finance/{lk.story.campaign.public_id}/disbursements/new"),
        books_write(200, {"organiser"}),
    ),
    "approve a request": (
        lambda lk: Call(
            "POST",
            f"/finance/{lk.story.campaign.public_id}/disbursements/{_fresh_request(lk)}/approve",
            {},
        ),
        books_write(302, {"host_finance", "admin"}),
    ),
    "reject a request": (
        lambda lk: Call(
            "POST",
            f"/finance/{lk.story.campaign.public_id}/disbursements/{_fresh_request(lk)}/reject",
            {"reason": "No receipt"},
        ),
        books_write(302, {"host_finance", "admin"}),
    ),
}


def users(leak: LeakStory, session: Session) -> dict[str, User | None]:
    story: Story = leak.story
    stray_auditor = make_user(session, roles=(Role.AUDITOR,), name="Auditor Elsewhere")
    session.commit()
    return {
        "visitor": None,
        "donor": story.donor,
        "other_organiser": story.other_organiser,
        "organiser": story.organiser,
        "host_finance": story.finance,
        "host_member": story.host_member,
        "auditor": story.auditor,
        "auditor_without_grant": stray_auditor,
        "admin": story.admin,
    }


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_role_gets_the_expected_answer(
    app: Flask, leak: LeakStory, session: Session, route: str
) -> None:
    prepare, expected = ROUTES[route]
    cast = users(leak, session)
    answers: dict[str, int] = {}
    for role in ROLES:
        call = prepare(leak)
        client = app.test_client()
        if cast[role] is not None:
            log_in(client, cast[role])  # type: ignore[arg-type]
        response = client.open(call.path, method=call.method, data=call.data)
        answers[role] = response.status_code
        if response.status_code == 404:
            body = response.get_data(as_text=True)
            # A refusal never confirms what it refused.
            assert "ZZLEAK" not in body
        response.close()
    assert answers == expected
