"""Nothing a visitor can reach reveals a child: every public page, API response, export and
report of a campaign is crawled and searched for the children's distinctive strings.

The crawl starts at the home page and the campaign page, follows same-site links found in
HTML, JSON, XML and text (bounded), and also requests every GET route whose parameters a
visitor can know (the campaign's public id and slug, ledger sequence numbers, export kinds,
published report versions). PDFs are searched as text and through their attachments.
"""

from __future__ import annotations

import html
import re
import subprocess
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from giving.db import transaction
from giving.ledger.keys import load_signing_key
from giving.ledger.models import LedgerEntry
from giving.reports.jobs import enqueue
from giving.reports.models import ReportRenderJob, ReportVersion
from giving.reports.services import request_publication
from tests.safety.seed import LeakStory

MAX_PAGES = 400
SAME_SITE_HOSTS = {"", "giving.test", "127.0.0.1:5000", "localhost", "localhost:5000"}
# Links a crawler must not follow as a visitor: they change state or leave the site.
SKIP = (re.compile(r"^/static/"), re.compile(r"/logout$"))
_LINK = re.compile(r"""(?:href|src|action|content)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_TEXT_URL = re.compile(r"""(?:https?://[^\s"'<>]+|(?<=["'\s(])/[A-Za-z0-9_\-./%?=&;:]+)""")


def local_path(url: str, base: str) -> str | None:
    url = html.unescape(url).strip()
    if not url.startswith(("/", "http://", "https://", "?")) or " " in url:
        return None  # meta content such as "width=device-width", or prose
    absolute = urljoin(base, url)
    parts = urlsplit(absolute)
    if parts.scheme not in ("", "http", "https") or parts.netloc not in SAME_SITE_HOSTS:
        return None
    if not parts.path.startswith("/"):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if any(pattern.search(parts.path) for pattern in SKIP):
        return None
    return path


def links_in(response: TestResponse, base: str) -> set[str]:
    found: set[str] = set()
    if response.location:
        found.add(response.location)
    if response.mimetype in ("application/pdf",) or not response.mimetype:
        return found
    text = response.get_data(as_text=True)
    found.update(match.group(1) for match in _LINK.finditer(text))
    if response.mimetype != "text/html":
        found.update(match.group(0) for match in _TEXT_URL.finditer(text))
    return {path for url in found if (path := local_path(url, base)) is not None}


def readable_text(response: TestResponse, tmp_path: Path) -> str:
    """Everything a person could read from the response, PDFs included."""
    data = response.get_data()
    if response.mimetype != "application/pdf":
        return data.decode("utf-8", "replace") + "\n" + str(response.headers)
    pdf = tmp_path / f"crawl-{abs(hash(data))}.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    folder = tmp_path / f"{pdf.stem}-attachments"
    folder.mkdir()
    subprocess.run(["pdfdetach", "-saveall", "-o", str(folder), str(pdf)], check=True)
    attached = "".join(item.read_bytes().decode("utf-8", "replace") for item in folder.iterdir())
    return text + attached + data.decode("latin-1")


def publish_report(app: Flask, leak: LeakStory, session: Session) -> None:
    """The organisers publish the accountability report, as they would at the end."""
    settings = app.extensions["giving.settings"]
    with app.test_request_context():
        with transaction(session):
            jobs = request_publication(
                session,
                actor=leak.story.organiser,
                campaign=leak.story.campaign,
                languages=["en"],
                settings=settings,
                key=load_signing_key(settings),
            )
            ids = [job.id for job in jobs]
        # Without Redis the jobs render here and now, through the worker's own code.
        assert enqueue(app, ids) == "inline"


def visitor_routes(app: Flask, leak: LeakStory, session: Session) -> tuple[set[str], list[str]]:
    """Every GET route whose parameters a visitor can know, filled in; and the rest."""
    campaign = leak.story.campaign
    seqs = list(
        session.scalars(
            sa.select(LedgerEntry.seq).where(LedgerEntry.campaign == campaign.public_id)
        )
    )
    values: dict[str, list[object]] = {
        "public_id": [campaign.public_id],
        "slug": [campaign.slug],
        "seq": seqs,
        "kind": ["ledger.csv", "ledger.jsonl", "iati-activity.xml", "checkpoint.txt"],
        "version_id": list(session.scalars(sa.select(ReportVersion.id))),
        "job_id": list(session.scalars(sa.select(ReportRenderJob.id))),
        "lang": ["en", "zh_Hans_CN"],
        # A stranger who somehow learnt real registry references gets nothing either.
        "ref": leak.refs[:2],
        "disbursement_id": [leak.paid.id, leak.waiting.id],
    }
    urls: set[str] = set()
    unreachable: list[str] = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
                continue
            if not set(rule.arguments) <= set(values):
                unreachable.append(rule.rule)
                continue
            combos: list[dict[str, object]] = [{}]
            for name in sorted(rule.arguments):
                combos = [{**combo, name: value} for combo in combos for value in values[name]]
            for combo in combos:
                urls.add(url_for(rule.endpoint, **combo))
    return urls, unreachable


def test_no_public_page_api_export_or_report_reveals_a_child(
    app: Flask, client: FlaskClient, leak: LeakStory, session: Session, tmp_path: Path
) -> None:
    publish_report(app, leak, session)
    campaign = leak.story.campaign
    routes, unreachable = visitor_routes(app, leak, session)
    # New API, export or report routes must be reachable here, or this test must learn how.
    assert not [
        r for r in unreachable if r.startswith("/api/") or "export" in r or "report" in r
    ], unreachable

    queue = deque(["/", f"/c/{campaign.slug}", *sorted(routes)])
    seen: set[str] = set()
    statuses: dict[str, int] = {}
    leaks: list[tuple[str, str]] = []
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, base_url="http://giving.test")
        statuses[path] = response.status_code
        text = readable_text(response, tmp_path).lower()
        # A page may echo the address it was asked for (a 404's language links do): only
        # strings the visitor did not type themselves count as leaks.
        leaks.extend(
            (path, needle)
            for needle in leak.forbidden
            if needle.lower() in text and needle.lower() not in path.lower()
        )
        for link in sorted(links_in(response, f"http://giving.test{path}")):
            if link not in seen:
                queue.append(link)
        response.close()  # downloads stream from spooled files

    assert leaks == [], f"children's private data reached the public: {leaks[:10]}"
    # The crawl really went where children's figures are published.
    must_see = [
        f"/c/{campaign.slug}",
        f"/c/{campaign.slug}/spending",
        f"/c/{campaign.slug}/transparency",
        f"/c/{campaign.slug}/exports/ledger.jsonl",
        f"/api/v1/campaigns/{campaign.public_id}/impact",
        f"/api/v1/ledger/campaigns/{campaign.public_id}/summary",
    ]
    for path in must_see:
        assert statuses.get(path) == 200, (path, statuses.get(path))
    reports = [p for p, status in statuses.items() if p.endswith("report.pdf") and status == 200]
    assert reports, "the published report was not crawled"
    registry = [p for p in statuses if p.startswith("/registry/")]
    assert registry
    assert all(statuses[p] == 404 for p in registry)
    assert len(seen) > 25
