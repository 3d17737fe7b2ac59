"""In a browser: an organiser requests a payment with evidence, the host's finance member
approves it, and a visitor sees it with its evidence digest on the public spending page.
Every page on the way passes axe-core and fits a 375 px phone.

(Written with giving/disbursements; it lives here to share the live server and Chromium.)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from giving.accounts.models import Role, User
from giving.accounts.services import register_user
from giving.campaigns import hosting
from giving.campaigns import services as campaigns
from giving.campaigns.models import Campaign
from giving.hosts import services as hosts
from giving.ledger import rules
from giving.ledger.canonical import Posting
from giving.ledger.services import append_entry
from giving.money import Money
from tests.browser.fixtures import PASSWORD, Seeder
from tests.browser.live import PHONE, LiveServer, axe_violations, describe_violations, log_in
from tests.browser.test_phones import assert_fits_phone
from tests.disbursements.support import pdf_bytes

pytestmark = pytest.mark.browser


@dataclass
class Cast:
    campaign: Campaign
    organiser: User
    finance: User
    admin: User
    host_id: int


@pytest.fixture(scope="module")
def cast(live_server: LiveServer, seed: Seeder) -> Cast:
    """A live campaign hosted by a charity, with 2,000.00 given, and who acts on it."""
    admin = seed.admin("Hua Admin")
    with live_server.transaction() as session:
        organiser = register_user(
            session,
            email=seed.unique_email("org"),
            password=PASSWORD,
            display_name="Mei Organiser",
            roles={Role.ORGANISER},
        )
        finance = register_user(
            session, email=seed.unique_email("fin"), password=PASSWORD, display_name="Fang Finance"
        )
        admin = session.merge(admin)
        host = hosts.register_host(
            session,
            actor=admin,
            name="Yunnan Children's Foundation",
            registration_number="53530000MJ0000001X",
            country="CN",
            contact_email="finance@foundation.example.org",
            contact_phone="+86 871 1234 5678",
        )
        hosts.add_member(session, actor=admin, host=host, email=finance.email, role="finance")
        campaign = campaigns.create_campaign(
            session,
            actor=organiser,
            title="Winter shoes in Zhaotong",
            summary="Warm shoes for pupils who walk to school.",
            story="It snows in the hills.",
            language="en",
            goal=Money(500_000, "CNY"),
            ends_on=None,
            region="CN-YN",
            category="shelter",
            cover=None,
        )
        hosting.assign_host(session, actor=organiser, campaign=campaign, host=host)
        campaigns.submit_for_review(session, actor=organiser, campaign=campaign)
        campaigns.approve(session, actor=admin, campaign=campaign)
        fund = rules.fund_account(campaign.public_id)
        append_entry(
            session,
            campaign=campaign.public_id,
            kind=rules.DONATION,
            postings=[Posting("processor:sandbox", 200_000, "CNY"), Posting(fund, -200_000, "CNY")],
            occurred_at=dt.datetime.now(dt.UTC),
            ref="ch_browser_1:donation",
        )
    return Cast(campaign, organiser, finance, admin, host.id)


def assert_accessible(page: Page, what: str, lang: str = "en") -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    violations = axe_violations(page)
    assert not violations, f"axe-core on {what} ({page.url}):\n{describe_violations(violations)}"


def signed_in_page(
    browser: Browser, live_server: LiveServer, user: User, **options: object
) -> Page:
    context = browser.new_context(base_url=live_server.url, **options)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, user.email, PASSWORD)
    return page


def test_request_approval_and_the_public_page(
    browser: Browser, live_server: LiveServer, cast: Cast, tmp_path: Path
) -> None:
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(pdf_bytes("browser invoice"))
    books = f"/finance/{cast.campaign.public_id}"

    organiser = signed_in_page(browser, live_server, cast.organiser)
    organiser.goto(f"/my/campaigns/{cast.campaign.public_id}")
    organiser.get_by_role("link", name="Budget, disbursement requests and activity log").click()
    expect(organiser).to_have_url(re.compile(re.escape(books) + "$"))
    assert_accessible(organiser, "books overview")
    organiser.get_by_role("link", name="Request a disbursement").click()
    assert_accessible(organiser, "request form")
    form = organiser.get_by_role("main").locator("form")
    form.locator("input[name=payee]").fill("Zhaotong Shoe Market")
    form.locator("input[name=amount]").fill("-3")
    form.locator("select[name=category]").select_option("shelter")
    form.locator("input[name=spent_on]").fill("2026-03-02")
    form.locator("textarea[name=description]").fill("Winter shoes, 40 pairs")
    form.locator("input[name=groups_reached]").fill("Grades 1 to 3")
    # Each file says whether it shows a child; the first try leaves that unanswered.
    form.locator("input[name=evidence-0-file]").set_input_files(str(invoice))
    form.locator("button[type=submit]").click()
    expect(organiser.locator(".field.has-error").first).to_be_visible()
    expect(form).to_contain_text("Say whether this file shows a child.")
    assert_accessible(organiser, "request form with errors")
    form.locator("input[name=amount]").fill("1200")
    form.locator("input[name=evidence-0-file]").set_input_files(str(invoice))
    form.get_by_role("group", name="Evidence file 1").get_by_label("No, it shows no child").check()
    form.locator("button[type=submit]").click()
    expect(organiser).to_have_url(re.compile(r"/disbursements/\d+$"))
    expect(organiser.locator("h1")).to_contain_text("Waiting for approval")
    assert_accessible(organiser, "request page (organiser)")
    request_url = organiser.url

    finance = signed_in_page(browser, live_server, cast.finance)
    finance.goto(request_url)
    assert_accessible(finance, "request page (finance)")
    finance.locator("textarea[name=reason]").fill("Invoice matches the order")
    finance.get_by_role("button", name="Approve and record in the ledger").click()
    expect(finance.locator(".flash")).to_contain_text("Approved and recorded in the ledger")
    expect(finance.locator("h1")).to_contain_text("Approved")
    digest = finance.locator("code.digest").first.inner_text()
    finance.goto(books + "/activity")
    assert_accessible(finance, "activity log")

    # A redacted copy published, then taken down again (an address left readable).
    redacted = tmp_path / "redacted.pdf"
    redacted.write_bytes(pdf_bytes("browser redacted invoice"))
    organiser.goto(request_url)
    item = organiser.locator(".evidence-item").first
    item.locator("summary", has_text="Publish a redacted copy").click()
    item.locator("input[type=file]").set_input_files(str(redacted))
    item.get_by_role("button", name="Publish", exact=True).click()
    expect(organiser.locator(".flash")).to_contain_text("The redacted copy is published")
    item = organiser.locator(".evidence-item").first
    item.locator("summary", has_text="Take the public copy down").click()
    item.locator("summary", has_text="This file shows a child").click()
    assert_accessible(organiser, "request page with the evidence correction forms")
    item.get_by_role("button", name="Take the copy down").click()
    item = organiser.locator(".evidence-item").first
    expect(item.locator(".error")).to_contain_text("Say why the public copy is taken down")
    assert_accessible(organiser, "take-down form with errors")
    item.get_by_label("Why take the public copy down?").fill("The shop's address is readable")
    item.get_by_role("button", name="Take the copy down").click()
    expect(organiser.locator(".flash")).to_contain_text("The public copy is taken down")

    for locale, lang in (("en-US", "en"), ("zh-CN", "zh-Hans")):
        visitor = browser.new_context(base_url=live_server.url, locale=locale).new_page()
        visitor.goto(f"/c/{cast.campaign.slug}/spending")
        expect(visitor.get_by_role("main")).to_contain_text(digest)
        expect(visitor.get_by_role("main")).not_to_contain_text("Zhaotong Shoe Market")
        assert_accessible(visitor, f"public spending page ({locale})", lang)
        visitor.goto(f"/c/{cast.campaign.slug}")
        assert_accessible(visitor, f"campaign page with its money ({locale})", lang)
        visitor.context.close()

    phone = browser.new_context(base_url=live_server.url, viewport=PHONE).new_page()
    phone.goto(f"/c/{cast.campaign.slug}/spending")
    assert_fits_phone(phone, "public spending page")
    phone.context.close()
    organiser.set_viewport_size(PHONE)
    for path in (request_url, books, books + "/activity", books + "/budget"):
        organiser.goto(path)
        assert_fits_phone(organiser, path)
    organiser.context.close()
    finance.context.close()


def test_host_pages_are_accessible_and_fit_a_phone(
    browser: Browser, live_server: LiveServer, cast: Cast
) -> None:
    admin = signed_in_page(browser, live_server, cast.admin)
    for path in ("/admin/hosts", "/admin/hosts/new", f"/admin/hosts/{cast.host_id}"):
        admin.goto(path)
        assert_accessible(admin, path)
    admin.goto("/admin/hosts/new")
    admin.get_by_role("main").locator("form button[type=submit]").click()
    expect(admin.locator(".field.has-error").first).to_be_visible()
    assert_accessible(admin, "host form with errors")
    admin.set_viewport_size(PHONE)
    admin.goto(f"/admin/hosts/{cast.host_id}")
    assert_fits_phone(admin, "host page")
    admin.context.close()
    finance = signed_in_page(browser, live_server, cast.finance, viewport=PHONE)
    finance.goto("/hosts/mine")
    expect(finance.get_by_role("main")).to_contain_text("Winter shoes in Zhaotong")
    assert_accessible(finance, "my host organisations")
    assert_fits_phone(finance, "my host organisations")
    finance.context.close()
