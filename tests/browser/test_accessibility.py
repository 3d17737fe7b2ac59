"""axe-core finds no accessibility violations on the main pages, in English and in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.fixtures import NewPage, Seeder
from tests.browser.live import axe_violations, describe_violations

pytestmark = pytest.mark.browser

LOCALES = {"en": ("en-US", "en"), "zh": ("zh-CN", "zh-Hans")}


def assert_accessible(page: Page, what: str, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    violations = axe_violations(page)
    assert not violations, f"axe-core on {what} ({page.url}):\n{describe_violations(violations)}"


@pytest.fixture(scope="module")
def slugs(seed: Seeder, cover_png: Path) -> dict[str, str]:
    """Live campaigns in both languages (one with a cover) and one waiting for review, each
    hosted by the module's registered charity (the review queue shows it)."""
    english = seed.campaign(cover=cover_png.read_bytes())
    chinese = seed.campaign(
        title="贵州山区儿童冬衣",
        summary="为贵州山区的孩子们准备过冬的棉衣和鞋子。",
        story="冬天山里很冷。\n\n- 棉衣\n- 棉鞋",
        language="zh",
        region="CN-GZ",
        category="shelter",
    )
    seed.campaign(title="Books for a village library", live=False)
    return {"en": english.slug, "zh": chinese.slug}


@pytest.fixture(params=sorted(LOCALES))
def language(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(browser locale, expected html lang) for an English and a Chinese browser."""
    return LOCALES[request.param]


@pytest.mark.parametrize(
    ("what", "path", "status"),
    [
        ("home", "/", 200),
        ("campaign list", "/campaigns", 200),
        ("search results", "/campaigns?q=lunch&category=food", 200),
        ("search without results", "/campaigns?q=nothing-matches-this", 200),
        ("English campaign", "/c/{en}", 200),
        ("Chinese campaign", "/c/{zh}", 200),
        ("register", "/account/register", 200),
        ("log in", "/account/login", 200),
        ("not found", "/no/such/page", 404),
        ("unknown campaign", "/c/no-such-campaign", 404),
    ],
)
def test_a_public_page_is_accessible(
    new_page: NewPage,
    language: tuple[str, str],
    slugs: dict[str, str],
    what: str,
    path: str,
    status: int,
) -> None:
    locale, lang = language
    page = new_page(locale=locale)
    response = page.goto(path.format(**slugs))
    assert response is not None
    assert response.status == status
    assert_accessible(page, what, lang)


@pytest.mark.parametrize(
    ("who", "what", "path"),
    [
        ("donor", "account", "/account/password"),
        ("organiser", "my campaigns", "/my/campaigns"),
        ("organiser", "new campaign form", "/my/campaigns/new"),
        ("admin", "review queue", "/admin/reviews"),
        ("admin", "admin campaign list", "/admin/campaigns"),
    ],
)
def test_a_logged_in_page_is_accessible(
    new_page: NewPage,
    language: tuple[str, str],
    slugs: dict[str, str],
    who: str,
    what: str,
    path: str,
) -> None:
    locale, lang = language
    page = new_page(locale=locale, as_=who)
    response = page.goto(path)
    assert response is not None
    assert response.status == 200
    assert_accessible(page, what, lang)


def test_a_form_showing_errors_is_accessible(new_page: NewPage, language: tuple[str, str]) -> None:
    locale, lang = language
    page = new_page(locale=locale)
    page.goto("/account/register")
    page.locator("input[name=email]").fill("not an email")
    page.get_by_role("main").locator("button[type=submit]").click()
    expect(page.locator(".field.has-error").first).to_be_visible()
    assert_accessible(page, "register with errors", lang)


def test_the_campaign_form_showing_errors_is_accessible(
    new_page: NewPage, language: tuple[str, str]
) -> None:
    locale, lang = language
    page = new_page(locale=locale, as_="organiser")
    page.goto("/my/campaigns/new")
    page.locator("input[name=goal]").fill("12.345")
    page.get_by_role("main").locator("form button[type=submit]").click()
    expect(page.locator(".field.has-error").first).to_be_visible()
    assert_accessible(page, "campaign form with errors", lang)


def test_an_organisers_manage_page_is_accessible(
    new_page: NewPage, language: tuple[str, str]
) -> None:
    locale, lang = language
    page = new_page(locale=locale, as_="organiser")
    page.goto("/my/campaigns/new")
    page.locator("input[name=title]").fill("Winter coats")
    page.locator("textarea[name=summary]").fill("Coats for forty children.")
    page.locator("textarea[name=story]").fill("It is cold in the hills.")
    page.locator("input[name=goal]").fill("8000")
    page.locator("select[name=region]").select_option("CN-GZ")
    page.locator("select[name=category]").select_option("shelter")
    page.get_by_role("main").locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/my/campaigns/c[a-z2-7]{12}$"))
    # A new draft has no host yet: the page says so beside a link to choose one.
    expect(page.locator(".needs-host")).to_be_visible()
    assert_accessible(page, "manage campaign", lang)
    page.locator(".needs-host a").click()
    expect(page).to_have_url(re.compile(r"/my/campaigns/c[a-z2-7]{12}/host$"))
    assert_accessible(page, "choose the host organisation", lang)
