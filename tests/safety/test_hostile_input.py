"""Hostile input ends in a 4xx with a message on both backends, never a 500.

PostgreSQL refuses text with a NUL character and integers beyond its column types (32 bits
for ids, 64 for ledger seqs); SQLite refuses Python integers beyond 64 bits. Every route of
the URL map is asked, as each kind of person, with a NUL in each text segment of its path
and numbers at and beyond 32 and 64 bits (and of 400 digits) in each number segment; every
GET route with each query parameter the code reads set to a NUL, and to such numbers; and
every form a page offers is posted back with each of its fields set to the same (each post
undone, so the campaign stays as the next page expects). A NUL, and a number no column can
hold, must be a 400 or 404 with a message; the rest must not be a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, got_request_exception, request
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from giving import PROJECT_ROOT
from giving.ledger.models import LedgerEntry
from giving.reports.models import ReportRenderJob, ReportVersion
from tests.campaigns.factories import log_in
from tests.safety.seed import LeakStory

NUL_TEXT = "a\x00b"
BEYOND_64_BITS = "99999999999999999999"  # > 2**64
JUST_BEYOND = str(2**63)  # the first integer a signed 64-bit column cannot hold
INT64_MAX_TEXT = str(2**63 - 1)
# At and beyond the edges of the 32-bit id columns and of the 64-bit ledger seqs.
LARGE_BUT_VALID = (str(2**31 - 1), str(2**31), INT64_MAX_TEXT)
LONG_NUMBER = "9" * 400
ROLES = ("visitor", "donor", "organiser", "finance", "auditor", "admin")
# Logging out would end the test's own log-in.
SKIP_ENDPOINTS = {"accounts.logout"}
_SEGMENT = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _user(leak: LeakStory, role: str) -> object | None:
    story = leak.story
    return {
        "visitor": None,
        "donor": story.donor,
        "organiser": story.organiser,
        "finance": story.finance,
        "auditor": story.auditor,
        "admin": story.admin,
    }[role]


@pytest.fixture
def clients(app: Flask, leak: LeakStory) -> dict[str, FlaskClient]:
    made = {}
    for role in ROLES:
        client = app.test_client()
        user = _user(leak, role)
        if user is not None:
            log_in(client, user)  # type: ignore[arg-type]
        made[role] = client
    return made


def real_values(leak: LeakStory, session: Session) -> dict[str, str]:
    """A value that exists for each path parameter, so a hostile one sits among real ones."""
    story = leak.story
    campaign = story.campaign
    seq = session.scalar(
        sa.select(sa.func.min(LedgerEntry.seq)).where(LedgerEntry.campaign == campaign.public_id)
    )
    version = session.scalar(sa.select(sa.func.min(ReportVersion.id)))
    job = session.scalar(sa.select(sa.func.min(ReportRenderJob.id)))
    return {
        "public_id": campaign.public_id,
        "slug": campaign.slug,
        "seq": str(seq if seq is not None else 0),
        "kind": "ledger.csv",
        "version_id": str(version or 1),
        "job_id": str(job or 1),
        "lang": "en",
        "ref": leak.children[0].ref,
        "disbursement_id": str(leak.waiting.id),
        "host_id": str(story.host.id),
        "user_id": str(story.donor.id),
        "grant_id": "1",
        "flag_id": "1",
        "token": leak.paid.evidence[0].token,
        "key": "cover.jpg",
        "checkout_id": "cs_test",
        "intent": "pi_test",
        "filename": "app.css",
    }


def fill(rule: Rule, values: dict[str, str], hostile: dict[str, str] | None = None) -> str:
    """The rule's path with real values, except those ``hostile`` gives."""
    chosen = {**values, **(hostile or {})}

    def one(match: re.Match[str]) -> str:
        return quote(chosen.get(match.group("name"), "x"), safe="/")

    return _SEGMENT.sub(one, rule.rule)


def hostile_segments(rule: Rule) -> Iterator[dict[str, str]]:
    """For each segment, each hostile value its converter lets through to the view."""
    for match in _SEGMENT.finditer(rule.rule):
        name = match.group("name")
        if match.group("converter") in ("int", "int64"):
            for value in (*LARGE_BUT_VALID, BEYOND_64_BITS, JUST_BEYOND, LONG_NUMBER):
                yield {name: value}
        else:
            yield {name: NUL_TEXT}


def rules(app: Flask) -> Iterator[Rule]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint not in SKIP_ENDPOINTS:
            yield rule


@dataclass
class Failures:
    found: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.found.append(what)


@pytest.fixture
def app_config() -> dict[str, Any]:
    # A 500 is answered (and counted) like in production instead of raised into the test.
    return {"PROPAGATE_EXCEPTIONS": False}


@pytest.fixture
def crashes(app: Flask) -> Iterator[list[str]]:
    """What each 500 was, so a failure names the exception and not only the URL."""
    found: list[str] = []

    def record(_sender: Flask, exception: BaseException, **_extra: object) -> None:
        found.append(f"{request.method} {request.full_path}: {exception!r}")

    got_request_exception.connect(record, app)
    yield found
    got_request_exception.disconnect(record, app)


def _request(client: FlaskClient, method: str, url: str, **kwargs: Any) -> tuple[int, str]:
    response = client.open(url, method=method, base_url="http://giving.test", **kwargs)
    data = response.get_data()
    status = response.status_code
    content_type = response.headers.get("Content-Type", "")
    response.close()
    textual = response.mimetype.startswith("text/") or response.mimetype.endswith(("json", "xml"))
    body = data.decode("utf-8", "replace") if textual else ""
    assert content_type.count("charset=") <= 1, (url, content_type)
    return status, body


def test_hostile_path_segments_are_a_400_or_404_on_every_route(
    app: Flask,
    leak: LeakStory,
    session: Session,
    clients: dict[str, FlaskClient],
    crashes: list[str],
) -> None:
    values = real_values(leak, session)
    failures = Failures()
    for rule in rules(app):
        methods = sorted((rule.methods or set()) & {"GET", "POST"})
        for hostile in hostile_segments(rule):
            url = fill(rule, values, hostile)
            for role, client in clients.items():
                for method in methods:
                    status, body = _request(client, method, url)
                    what = f"{method} {url} as {role}: {status}"
                    if set(hostile.values()) & set(LARGE_BUT_VALID):
                        # A number a converter may let through (32-bit ids, 64-bit seqs) is
                        # answered as any unknown one (or the visitor is asked to log in).
                        failures.check(status < 500, what)
                    else:
                        # A message the person can act on, on the HTML page or in the JSON.
                        expected = {400: "NUL character", 404: "could not find"}.get(status)
                        failures.check(expected is not None and expected in body, what)
    assert crashes == []
    assert failures.found == []


def query_names() -> set[str]:
    """Every query parameter the views read, found in their source."""
    names: set[str] = set()
    pattern = re.compile(r"""(?:request\.args\.get|query_int)\(\s*["'](\w+)["']""")
    for path in (PROJECT_ROOT / "giving").rglob("*.py"):
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    # Forms bound to request.args (search and filters) read their fields' names.
    return names | {"q", "region", "category", "state", "page", "campaign"}


@pytest.mark.slow
def test_hostile_query_parameters_never_cause_a_500(
    app: Flask,
    leak: LeakStory,
    session: Session,
    clients: dict[str, FlaskClient],
    crashes: list[str],
) -> None:
    values = real_values(leak, session)
    names = sorted(query_names())
    assert {"after_seq", "page", "campaign", "next"} <= set(names)
    failures = Failures()
    for rule in rules(app):
        if "GET" not in (rule.methods or set()):
            continue
        base = fill(rule, values)
        every_name = urlencode(dict.fromkeys(names, NUL_TEXT))
        for role, client in clients.items():
            status, _body = _request(client, "GET", f"{base}?{every_name}")
            failures.check(status == 400, f"GET {base}?<every name>=NUL as {role}: {status}")
        # Numbers are read by the views themselves, so each name is tried on its own, as
        # the admin, who gets past the access checks of every page that reads one.
        for name in names:
            for value in (INT64_MAX_TEXT, JUST_BEYOND, LONG_NUMBER):
                url = f"{base}?{urlencode({name: value})}"
                status, _body = _request(clients["admin"], "GET", url)
                failures.check(status < 500, f"GET {url} as admin: {status}")
    assert crashes == []
    assert failures.found == []


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, str]
    files: set[str]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("method", "get").upper(), a.get("action", ""), {}, set()))
            return
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind == "file":
                form.files.add(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a or name not in form.fields:
                    form.fields[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "image", "reset"):
                form.fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            form.fields[name] = ""
        elif tag == "select" and name:
            self._select = name
            form.fields.setdefault(name, "")
        elif (
            tag == "option"
            and self._select
            and ("selected" in a or not form.fields.get(self._select))
        ):
            form.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms_on(body: str, page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(body)
    for form in parser.forms:
        form.action = urlsplit(form.action or page).path or page
    return parser.forms


def test_hostile_form_fields_never_cause_a_500(
    app: Flask,
    leak: LeakStory,
    session: Session,
    clients: dict[str, FlaskClient],
    crashes: list[str],
    connection: sa.Connection,
) -> None:
    values = real_values(leak, session)
    failures = Failures()
    seen: set[tuple[str, str, str, tuple[str, ...]]] = set()
    posted: set[str] = set()
    urls = app.url_map.bind("giving.test")
    for rule in rules(app):
        if "GET" not in (rule.methods or set()):
            continue
        page = fill(rule, values)
        for role in ROLES:
            client = clients[role]
            status, body = _request(client, "GET", page)
            if status != 200 or "<form" not in body:
                continue
            for form in forms_on(body, page):
                key = (role, form.method, form.action, tuple(sorted(form.fields)))
                if key in seen or form.action.endswith("/logout"):
                    continue
                seen.add(key)
                for name in form.fields:
                    if name == "csrf_token":
                        continue
                    for value in (NUL_TEXT, BEYOND_64_BITS, LONG_NUMBER):
                        data = {**form.fields, name: value}
                        if form.method == "GET":
                            url = f"{form.action}?{urlencode(data)}"
                            status, _body = _request(client, "GET", url)
                        else:
                            url = form.action
                            # A post that succeeds (a huge number may be a fine reason text)
                            # is undone, so the campaign stays as every later page expects.
                            undo = connection.begin_nested()
                            try:
                                status, _body = _request(client, "POST", url, data=data)
                            finally:
                                undo.rollback()
                            posted.add(str(urls.match(url, method="POST")[0]))
                        what = f"{form.method} {url} {name}={value[:24]!r} as {role}: {status}"
                        if value == NUL_TEXT:
                            failures.check(status == 400, what)
                        else:
                            failures.check(status < 500, what)
    # The crawl reached the forms where people type text and numbers.
    assert {
        "accounts.register",
        "campaigns.new_campaign",
        "campaigns.edit_campaign",
        "campaigns.post_update",
        "campaigns.invite_co_organiser",
        "payments.give",
        "disbursements.new_request",
        "disbursements.edit_budget",
        "impact.new_child",
        "impact.edit_child",
        "hosts.new_host",
        "admin.freeze",
    } <= posted, sorted(posted)
    assert crashes == []
    assert failures.found == []


def test_a_nul_in_an_uploaded_file_name_is_a_400(
    leak: LeakStory, clients: dict[str, FlaskClient], tmp_path: Path
) -> None:
    import io

    public_id = leak.story.campaign.public_id
    status, body = _request(
        clients["organiser"],
        "POST",
        f"/registry/{public_id}/children/import",
        data={"file": (io.BytesIO(b"code\n"), "a\x00b.csv")},
    )
    assert status == 400, body


def test_a_multipart_part_whose_name_cannot_be_read_is_not_a_500(client: FlaskClient) -> None:
    # Found by the API contract test: werkzeug leaves the name of this part None.
    boundary = "5841a6376132699d2bb0f41bb479d718"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="\n"\r\n\r\nnull\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\nnot a pdf\r\n--{boundary}--\r\n"
    ).encode()
    response = client.post(
        "/api/v1/reports/verify",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 400
    assert response.get_json()["message"]
