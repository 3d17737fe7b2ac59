"""A donor gives ¥50 on a phone through the sandbox and verifies the receipt in the browser.

Real Chromium against the real app (CSRF on, no Stripe keys, so the sandbox provider), using
the browser fixtures of tests/browser. The receipt's "verify" button runs
static/receipt-verify.js: WebCrypto SHA-256 over the leaf bytes, the RFC 9162 proof walk and
the comparison with the signed checkpoint's root.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from giving.campaigns.models import CampaignState
from giving.money import Money

# The browser tests' fixtures (Chromium, the live server, pages), reused whole so this
# module follows them as they grow.
from tests.browser.fixtures import NewPage
from tests.browser.live import (
    PHONE,
    LiveServer,
    axe_violations,
    describe_violations,
    screenshot,
)
from tests.campaigns.factories import make_campaign

pytestmark = pytest.mark.browser


def assert_accessible(page: Page, what: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{what}:\n{describe_violations(violations)}"


def assert_fits(page: Page, what: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what} scrolls sideways ({width}px)"


def test_a_donor_gives_50_yuan_sees_the_receipt_verify_and_the_progress_move(
    live_server: LiveServer, new_page: NewPage
) -> None:
    with live_server.transaction() as session:
        campaign = make_campaign(
            session,
            state=CampaignState.LIVE,
            title="Winter coats for Weining",
            goal=Money(100_000, "CNY"),
        )
        slug = campaign.slug
    page = new_page(viewport=PHONE)

    page.goto(f"/c/{slug}")
    progress = page.locator("#progress progress")
    expect(progress).to_have_attribute("value", "0")
    assert_accessible(page, "campaign page with the giving form")
    assert_fits(page, "campaign page")

    page.get_by_text("CN¥50.00", exact=True).click()
    page.get_by_label("Name shown with your gift").fill("Mei")
    page.get_by_label("A short public message (optional)").fill("山里的孩子们，冬天快乐！")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Sandbox checkout")
    assert_accessible(page, "sandbox checkout")
    assert_fits(page, "sandbox checkout")
    screenshot(page, "giving-sandbox-checkout-phone")
    page.get_by_label("WeChat Pay").check()
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your gift")
    expect(page.get_by_text(re.compile(r"Ledger entry #\d+"))).to_be_visible()
    assert_accessible(page, "receipt")
    assert_fits(page, "receipt")
    page.get_by_role("button", name="Verify this entry").click()
    result = page.locator(".verify-result")
    expect(result).to_contain_text("Verified: entry #", timeout=15_000)
    expect(result).to_contain_text("The entry carries the SHA-256 of your donor secret.")
    expect(result).to_contain_text("The checkpoint signature is valid.")  # Ed25519 in WebCrypto
    expect(result).to_have_class(re.compile(r"verify-ok"))
    screenshot(page, "giving-receipt-verified-phone")

    page.goto(f"/c/{slug}")
    expect(progress).to_have_attribute("value", "5")
    expect(page.get_by_text("1 donor so far")).to_be_visible()
    expect(page.get_by_text("山里的孩子们，冬天快乐！")).to_be_visible()
    expect(page.locator(".supporters")).to_contain_text("Mei")
    screenshot(page, "giving-campaign-after-gift-phone")


def test_a_mistyped_amount_is_explained_on_the_form(live_server: LiveServer, page: Page) -> None:
    with live_server.transaction() as session:
        slug = make_campaign(session, state=CampaignState.LIVE).slug

    page.goto(f"/c/{slug}")
    page.get_by_label("Or another amount (CNY)").fill("3")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("alert")).to_contain_text("Please correct the highlighted fields.")
    expect(page.locator("#custom_amount-error")).to_have_text("The smallest gift is CN¥5.00.")
    expect(page.get_by_label("Or another amount (CNY)")).to_have_value("3")
    assert_accessible(page, "giving form with an error")
