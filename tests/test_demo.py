"""`giving demo` builds a usable, bilingual demo through the real services, idempotently."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from giving import create_app
from giving.accounts.services import authenticate
from giving.audit.models import AuditEvent
from giving.campaigns.models import Campaign
from giving.config import load_settings
from giving.db import make_engine, make_session_factory
from giving.demo_content import DEMO_ACCOUNTS
from giving.storage import app_storage


def test_demo_command_seeds_accounts_and_bilingual_campaigns_once(
    database_factory: object, tmp_path: Path
) -> None:
    url = database_factory.fresh()  # type: ignore[attr-defined]
    settings = load_settings({"DATABASE_URL": url, "GIVING_INSTANCE": str(tmp_path)})
    app = create_app(config={"TESTING": True}, settings=settings)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "(0 new)" in second.output
    assert "0 new sandbox gifts" in second.output
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 0, verify.output
    assert verify.output.startswith("OK:")

    engine = make_engine(url)
    session = make_session_factory(engine)()
    try:
        campaigns = session.scalars(sa.select(Campaign)).all()
        assert {c.language for c in campaigns} == {"en", "zh"}
        assert len({c.title for c in campaigns}) == len(campaigns)
        assert {c.state for c in campaigns} >= {"live", "in_review", "draft"}
        # The organiser chose the host while drafting, before submitting (as the pages do).
        for campaign in campaigns:
            if campaign.state == "draft":
                continue
            actions = list(
                session.scalars(
                    sa.select(AuditEvent.action)
                    .where(AuditEvent.subject_id == campaign.public_id)
                    .order_by(AuditEvent.id)
                )
            )
            assert actions.index("campaign.host_assigned") < actions.index("campaign.submitted")
        for account in DEMO_ACCOUNTS:
            assert authenticate(session, email=account.email, password=account.password)
            assert account.email in first.output
    finally:
        session.close()
        engine.dispose()

    client: FlaskClient = app.test_client()
    lunch = client.get("/campaigns?q=午餐").get_data(as_text=True)
    assert "山区小学午餐计划" in lunch
    home = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "山区小学午餐计划" in home
    assert "Safe rides to school" in home
    app.extensions["giving.engine"].dispose()


# --------------------------------------------------------------------------- every README account


def readme_accounts() -> list[tuple[str, str, str]]:
    """The (role, email, password) rows of the README's demo account table."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    section = text.split("## Demo accounts", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| ([^|`]+?) \| `([^`]+)` \| `([^`]+)` \|$", section, re.MULTILINE)


@pytest.fixture(scope="module")
def demo_app(database_factory: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app over a database seeded by ``giving demo``, shared by the role tests."""
    url = database_factory.fresh()  # type: ignore[attr-defined]
    instance = tmp_path_factory.mktemp("demo-instance")
    settings = load_settings({"DATABASE_URL": url, "GIVING_INSTANCE": str(instance)})
    app = create_app(
        config={"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False},
        settings=settings,
    )
    seeded = app.test_cli_runner().invoke(args=["demo"])
    assert seeded.exit_code == 0, seeded.output
    yield app
    app.extensions["giving.engine"].dispose()


def logged_in(app: Flask, role: str) -> FlaskClient:
    """A client logged in through the login form with the README's email and password."""
    rows = {email: password for _role, email, password in readme_accounts()}
    (account,) = [a for a in DEMO_ACCOUNTS if a.role == role]
    client = app.test_client()
    answer = client.post(
        "/account/login", data={"email": account.email, "password": rows[account.email]}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def page(client: FlaskClient, url: str) -> str:
    answer = client.get(url, follow_redirects=True)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.get_data(as_text=True)


def download(client: FlaskClient, url: str) -> TestResponse:
    """A file download, read and closed (send_file keeps the file open until then)."""
    answer = client.get(url, follow_redirects=True)
    answer.get_data()
    answer.close()
    return answer


def link(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    assert found is not None, pattern
    return found.group(0)


LUNCH = "山区小学午餐计划"


def test_the_readme_lists_exactly_the_demo_accounts() -> None:
    assert [(email, password) for _role, email, password in readme_accounts()] == [
        (account.email, account.password) for account in DEMO_ACCOUNTS
    ]


def test_demo_admin_sees_the_review_queue_and_the_auditors_grant(demo_app: Flask) -> None:
    client = logged_in(demo_app, "admin")
    assert "Reading corners for migrant children" in page(client, "/admin/reviews")
    grants = page(client, "/admin/auditors")
    assert "Demo Auditor" in grants
    assert LUNCH in grants


def test_demo_organiser_sees_their_campaigns_and_the_books(demo_app: Flask) -> None:
    client = logged_in(demo_app, "organiser")
    mine = page(client, "/my/campaigns")
    assert LUNCH in mine
    assert "给乡村教室换上新课桌椅" in mine  # the draft
    manage = page(client, link(mine, r"/my/campaigns/c[0-9a-z]+(?=\">山区小学午餐计划<)"))
    books = page(client, link(manage, r"/finance/[^\"/]+"))
    assert "县城粮油店" in books
    request = page(client, link(books, r"/finance/[^\"/]+/disbursements/\d+"))
    original = download(client, link(request, r"/evidence/[0-9A-Za-z_-]+/original"))
    assert original.status_code == 200
    assert original.mimetype == "image/png"


def test_demo_finance_member_sees_a_request_waiting_for_their_decision(demo_app: Flask) -> None:
    client = logged_in(demo_app, "host finance")
    mine = page(client, "/hosts/mine")
    assert "Waiting for your decision" in mine
    assert LUNCH in mine
    request = page(client, link(mine, r"/finance/[^\"/]+/disbursements/\d+"))
    assert "县城客运公司" in request
    assert re.search(r'action="/finance/[^"/]+/disbursements/\d+/approve"', request)


def test_demo_auditor_sees_a_published_report_and_downloads_an_evidence_original(
    demo_app: Flask,
) -> None:
    client = logged_in(demo_app, "auditor")
    dashboard = page(client, "/auditor")
    assert LUNCH in dashboard
    assert "No report has been published yet." not in dashboard
    report = download(client, link(dashboard, r"/reports/\d+/report\.pdf"))
    assert report.status_code == 200
    assert report.data.startswith(b"%PDF-")
    digest = re.search(r'<code class="digest">([0-9a-f]{64})</code></td>', dashboard)
    assert digest is not None
    original = download(client, link(dashboard, r"/auditor/evidence/[0-9A-Za-z_-]+"))
    assert original.status_code == 200
    assert original.mimetype == "image/png"
    assert hashlib.sha256(original.data).hexdigest() == digest.group(1)


def test_demo_donor_sees_campaigns_and_can_give(demo_app: Flask) -> None:
    client = logged_in(demo_app, "donor")
    assert LUNCH in page(client, "/")
    listing = page(client, "/campaigns")
    assert "Safe rides to school" in listing
    campaign = page(client, link(listing, r"/c/[^\"/?#]+"))
    give = page(client, link(campaign, r"/campaigns/[^\"/]+/give"))
    assert "<form" in give


def test_the_public_sees_the_spending_and_downloads_a_redacted_evidence_copy(
    demo_app: Flask,
) -> None:
    client = demo_app.test_client()
    listing = page(client, "/campaigns?q=午餐")
    slug = link(listing, r"/c/[^\"/?#]+")
    spending = page(client, slug + "/spending")
    assert "第一批午餐食材" in spending
    copy = download(client, link(spending, r"/evidence/[0-9A-Za-z_-]+/redacted"))
    assert copy.status_code == 200
    assert copy.mimetype == "image/png"
    assert re.fullmatch(r"[0-9a-f]{64}", copy.headers["X-Original-SHA256"])
    transparency = page(client, slug + "/transparency")
    assert re.search(r"/reports/\d+/report\.pdf", transparency)


def test_running_the_demo_again_mends_evidence_an_earlier_demo_saved_outside_its_folder(
    demo_app: Flask,
) -> None:
    # Earlier demos saved evidence in the storage root, where no download route looks.
    files = app_storage(demo_app).root
    for stored in (files / "evidence").iterdir():
        stored.replace(files / stored.name)
    client = logged_in(demo_app, "auditor")
    dashboard = page(client, "/auditor")
    evidence = link(dashboard, r"/auditor/evidence/[0-9A-Za-z_-]+")
    assert download(client, evidence).status_code == 404

    again = demo_app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "Accountability report: already published" in again.output
    assert download(client, evidence).status_code == 200
    assert page(client, "/auditor").count('class="audited-campaign"') == 1
