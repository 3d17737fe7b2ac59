"""On a 375 px phone the main pages fit the screen, the navigation works and buttons are big.

Screenshots land in test-artifacts/ so a person can look at the pages in both languages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.fixtures import NewPage, Seeder
from tests.browser.live import PHONE, screenshot

pytestmark = pytest.mark.browser

LOCALES = {"en": "en-US", "zh": "zh-CN"}
MIN_TOUCH_TARGET = 44  # px; WCAG 2.5.5 and both Apple's and Google's guidance


def assert_fits_phone(page: Page, what: str) -> None:
    """No sideways scrolling, and every button and header link a thumb can hit."""
    page.wait_for_load_state("load")  # measured with the stylesheet applied, never before
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= PHONE["width"], f"{what} scrolls sideways: {widths} > {PHONE['width']}"
    too_small = page.evaluate(
        """(min) => Array.from(document.querySelectorAll(
                'button, .button, input[type=submit], input[type=button], header nav a'))
            .filter(el => el.offsetParent !== null)
            .map(el => [el.outerHTML.slice(0, 100), el.getBoundingClientRect().height])
            .filter(([, h]) => h < min)""",
        MIN_TOUCH_TARGET,
    )
    assert not too_small, f"{what} has buttons under {MIN_TOUCH_TARGET}px high: {too_small}"


def assert_navigation_reachable(page: Page) -> None:
    """Every navigation link is on screen (not pushed off the side) and can be followed."""
    links = page.locator("header nav a, header nav button")
    assert links.count() > 0
    for index in range(links.count()):
        link = links.nth(index)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], f"{link} is off screen: {box}"


def assert_compact_header(page: Page) -> None:
    """The language switch shares the brand's row, so the menu costs at most two more rows.

    Before, a logged-in organiser's header took four rows of a 740 px screen.
    """
    brand = page.locator("header .brand").bounding_box()
    languages = page.locator("header nav.lang-switch").bounding_box()
    header = page.locator("header.site-header").bounding_box()
    assert brand is not None
    assert languages is not None
    assert header is not None
    brand_middle = brand["y"] + brand["height"] / 2
    assert languages["y"] <= brand_middle <= languages["y"] + languages["height"], (
        f"the language switch is not on the brand's row: {brand} vs {languages}"
    )
    assert header["height"] <= 3 * (MIN_TOUCH_TARGET + 8) + 24, f"header too tall: {header}"


@pytest.fixture(scope="module")
def slugs(seed: Seeder, cover_png: Path) -> dict[str, str]:
    """Live campaigns with long words in both languages; one in review for the admin."""
    english = seed.campaign(
        title="Warm winter coats and waterproof boots for Weining County",
        summary="Coats and boots for 80 children who walk to school through snow.",
        story="A long unbroken address: https://example.org/"
        + "a-very-long-path-segment-without-spaces" * 3,
        cover=cover_png.read_bytes(),
    )
    chinese = seed.campaign(
        title="威宁县山区小学孩子们的冬季棉衣和防水雪地靴募捐活动",
        summary="为每天踏雪上学的八十名孩子购买棉衣和雪地靴。",
        story="冬天山里很冷，孩子们的鞋子常常湿透。" * 12,
        language="zh",
        region="CN-GZ",
        category="shelter",
        cover=cover_png.read_bytes(),
    )
    seed.campaign(title="Desks for a reading room", live=False)
    return {"en": english.slug, "zh": chinese.slug}


@pytest.fixture(params=sorted(LOCALES))
def locale(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def phone(new_page: NewPage, locale: str) -> tuple[Page, str]:
    """A visitor's phone, with its browser in English or in Chinese."""
    return new_page(locale=LOCALES[locale], viewport=PHONE), locale


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("home", "/"),
        ("campaigns", "/campaigns"),
        ("campaign-en", "/c/{en}"),
        ("campaign-zh", "/c/{zh}"),
        ("register", "/account/register"),
        ("login", "/account/login"),
        ("not-found", "/no/such/page"),
    ],
)
def test_a_public_page_fits_a_phone(
    phone: tuple[Page, str], slugs: dict[str, str], name: str, path: str
) -> None:
    page, lang = phone
    response = page.goto(path.format(**slugs))
    assert response is not None
    assert response.status == (404 if name == "not-found" else 200)
    assert_fits_phone(page, path)
    assert_navigation_reachable(page)
    screenshot(page, f"phone-{name}-{lang}")


def test_a_form_with_errors_fits_a_phone(phone: tuple[Page, str]) -> None:
    page, lang = phone
    page.goto("/account/register")
    page.locator("input[name=display_name]").fill("A name that is rather long for a phone")
    page.locator("input[name=email]").fill("not-an-email-address-at-all-and-quite-long")
    page.get_by_role("main").locator("button[type=submit]").click()
    expect(page.locator(".field.has-error").first).to_be_visible()
    assert_fits_phone(page, "register with errors")
    screenshot(page, f"phone-register-errors-{lang}")


def test_a_logged_in_organiser_can_use_the_navigation_on_a_phone(
    new_page: NewPage, locale: str
) -> None:
    page = new_page(locale=LOCALES[locale], viewport=PHONE, as_="organiser")
    response = page.goto("/account/password")
    assert response is not None
    assert response.ok
    assert_fits_phone(page, "account")
    assert_navigation_reachable(page)
    assert_compact_header(page)
    screenshot(page, f"phone-account-{locale}")

    page.locator("header nav.site-nav").locator("a[href='/campaigns']").click()
    expect(page).to_have_url(re.compile(r"/campaigns$"))
    page.locator("header nav.site-nav").locator("a[href='/my/campaigns']").click()
    expect(page).to_have_url(re.compile(r"/my/campaigns$"))


@pytest.mark.parametrize(
    ("who", "name", "path"),
    [
        ("organiser", "new-campaign", "/my/campaigns/new"),
        ("admin", "review-queue", "/admin/reviews"),
    ],
)
def test_a_working_page_fits_a_phone(
    new_page: NewPage, locale: str, slugs: dict[str, str], who: str, name: str, path: str
) -> None:
    page = new_page(locale=LOCALES[locale], viewport=PHONE, as_=who)
    response = page.goto(path)
    assert response is not None
    assert response.ok
    assert_fits_phone(page, path)
    assert_navigation_reachable(page)
    screenshot(page, f"phone-{name}-{locale}")
