"""The report pages in Chromium: axe-core finds nothing on the transparency, verification,
auditor and grants pages, in English and in Chinese, and they fit a 375 px phone."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from giving.accounts.models import Role
from giving.auditors import services as auditor_grants
from giving.db import utcnow
from giving.ledger.checkpoint import generate_signing_key
from giving.reports import auditors, jobs, services
from giving.reports.models import ReportVersion
from tests.browser.fixtures import PASSWORD, NewPage, Seeder
from tests.browser.live import PHONE, LiveServer, axe_violations, describe_violations, log_in
from tests.disbursements.support import give

pytestmark = pytest.mark.browser

LOCALES = {"en": ("en-US", "en"), "zh": ("zh-CN", "zh-Hans")}


@pytest.fixture(scope="module")
def published(live_server: LiveServer, seed: Seeder) -> dict[str, str]:
    """A live campaign with gifts, one published version signed off by an auditor."""
    campaign = seed.campaign(title="课本 Books for Zhaotong")
    auditor = seed.user("auditor", name="Sun Auditor", roles={Role.AUDITOR})
    admin = seed.admin("Grant Admin")
    app = live_server.app
    settings = app.extensions["giving.settings"]
    with app.test_request_context(), live_server.transaction() as session:
        found = session.merge(campaign)
        give(session, found, 120_00, fee_minor=3_50)
        give(session, found, 60_00)
        organiser = found.organisers[0].user
        created = services.request_publication(
            session,
            actor=organiser,
            campaign=found,
            languages=["en", "zh"],
            settings=settings,
            key=generate_signing_key(),
        )
        ids = [job.id for job in created]
    jobs.enqueue(app, ids)
    with app.test_request_context(), live_server.transaction() as session:
        version = session.query(ReportVersion).filter_by(language="en").one()
        auditor_grants.grant_access(
            session,
            actor=session.merge(admin),
            auditor=session.merge(auditor),
            campaign=session.merge(campaign),
            expires_at=utcnow() + dt.timedelta(days=20),
        )
        auditors.sign_off(
            session, actor=session.merge(auditor), version=version, statement="Checked 2 gifts."
        )
        sha256 = version.sha256
    return {"slug": campaign.slug, "sha256": sha256, "auditor": auditor.email, "admin": admin.email}


def check(page: Page, lang: str, what: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    violations = axe_violations(page)
    assert not violations, f"axe-core on {what}:\n{describe_violations(violations)}"
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"], f"{what} is {width}px wide on a {viewport['width']}px screen"


@pytest.mark.parametrize("language", sorted(LOCALES))
def test_public_report_pages_are_accessible_on_a_phone(
    new_page: NewPage,
    published: dict[str, str],
    language: str,
) -> None:
    locale, lang = LOCALES[language]
    page = new_page(locale=locale, viewport=PHONE)
    page.goto(f"/c/{published['slug']}/transparency")
    expect(page.get_by_text("Checked 2 gifts.")).to_be_visible()
    check(page, lang, "transparency page")
    page.goto("/verify")
    check(page, lang, "verification page")
    page.locator("input[name=sha256]").fill(published["sha256"])
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".report-verdict-ok")).to_be_visible()
    check(page, lang, "verification result")
    page.locator("input[name=sha256]").fill("not a hash")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#sha256-error")).to_be_visible()
    check(page, lang, "verification error")


def test_auditor_and_admin_pages_are_accessible(
    new_page: NewPage,
    published: dict[str, str],
) -> None:
    auditor = new_page(viewport=PHONE)
    log_in(auditor, published["auditor"], PASSWORD)
    auditor.goto("/auditor")
    expect(auditor.get_by_role("heading", name="课本 Books for Zhaotong")).to_be_visible()
    check(auditor, "en", "auditor dashboard")
    admin = new_page(viewport=PHONE)
    log_in(admin, published["admin"], PASSWORD)
    admin.goto("/admin/auditors")
    expect(admin.get_by_text("Sun Auditor")).to_be_visible()
    check(admin, "en", "auditor grants")
