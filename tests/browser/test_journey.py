"""The main journey (issue 2, item 9), entirely through the browser.

An organiser registers and starts a campaign written in Chinese, with a cover image, chooses
the charity that will host it (registered by an admin beforehand) and submits it; an admin
approves it in the review queue, seeing its host; a visitor whose browser speaks Chinese
finds it by searching the campaign list and reads it, in Chinese, and the language switch
keeps the visitor's choice from page to page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from giving.hosts.models import HostOrganisation
from tests.browser.fixtures import PASSWORD, NewPage, Seeder
from tests.browser.live import log_in, screenshot

pytestmark = pytest.mark.browser

TITLE = "昭通山区小学营养午餐"
SUMMARY = "为昭通一所山区小学的120名学生提供一个学期的热午餐。"
STORY = "孩子们每天要走一个小时的山路上学。\n\n每一元钱都用来买**大米和蔬菜**。"


def organiser_registers_and_submits_a_campaign(
    page: Page, seed: Seeder, cover: Path, host: HostOrganisation
) -> str:
    """Returns the address of the campaign's page."""
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Register").click()
    page.get_by_label("Your name").fill("Chen Organiser")
    email = seed.unique_email("journey-organiser")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I want to start campaigns as an organiser").check()
    page.get_by_role("main").get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you for registering.")
    log_in(page, email, PASSWORD)
    expect(page.get_by_role("status")).to_contain_text("You are logged in.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My campaigns").click()
    page.get_by_role("link", name="Start a new campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a new campaign")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Summary").fill(SUMMARY)
    page.get_by_label("Story").fill(STORY)
    page.get_by_label("Language of the campaign text").select_option(label="中文")
    page.get_by_label("Goal", exact=True).fill("30000")
    page.get_by_label("Currency").select_option("CNY")
    page.get_by_label("Region").select_option(label="Yunnan")
    page.get_by_label("Category").select_option(label="Food")
    page.get_by_label("Cover image").set_input_files(cover)
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("status")).to_contain_text("Your draft is saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_role("main").get_by_text("Draft", exact=True)).to_be_visible()

    # No host yet: the page says why it cannot be submitted and leads to the choice.
    expect(page.get_by_role("button", name="Submit for review")).to_have_count(0)
    needs_host = page.get_by_role("note").filter(has_text="Choose the host organisation first")
    needs_host.get_by_role("link", name="Choose the host organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the host organisation")
    choice = f"{host.name} ({host.country}, {host.registration_number})"
    page.get_by_label("Host organisation").select_option(label=choice)
    page.get_by_role("button", name="Choose this organisation").click()
    expect(page.get_by_role("status")).to_contain_text(f"{host.name} will host this campaign.")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_role("main")).to_contain_text(f"Hosted by {host.name}.")

    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("status")).to_contain_text("Submitted for review.")
    expect(page.get_by_role("main").get_by_text("In review", exact=True)).to_be_visible()
    preview = page.get_by_role("link", name="Preview the page")
    expect(preview).to_be_visible()
    return str(preview.get_attribute("href"))


def admin_approves_it(page: Page, seed: Seeder, host: str) -> None:
    admin = seed.admin()
    log_in(page, admin.email, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    entry = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=TITLE, level=2)
    )
    expect(entry).to_contain_text(SUMMARY)
    expect(entry).to_contain_text("Chen Organiser")
    expect(entry).to_contain_text(host)
    entry.get_by_role("button", name="Approve and publish").click()
    expect(page.get_by_role("status")).to_contain_text(f"“{TITLE}” is live.")
    expect(page.get_by_role("heading", name=TITLE)).to_have_count(0)


def visitor_finds_it_and_reads_it_in_chinese(page: Page) -> None:
    page.goto("/campaigns")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    search = page.get_by_role("search")
    search.get_by_role("searchbox").fill("营养午餐")
    search.get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/campaigns\?q="))
    results = page.get_by_role("main").get_by_role("listitem")
    expect(results).to_have_count(1)
    results.get_by_role("link", name=TITLE).click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    title = page.get_by_role("heading", level=1)
    expect(title).to_have_text(TITLE)
    expect(title).to_have_attribute("lang", "zh-Hans")
    main = page.get_by_role("main")
    expect(main).to_contain_text(SUMMARY)
    expect(main).to_contain_text("孩子们每天要走一个小时的山路上学。")
    expect(main.locator("strong", has_text="大米和蔬菜")).to_be_visible()
    expect(main).to_contain_text("云南")  # the region, named in Chinese
    expect(main).to_contain_text("¥30,000.00")  # the goal, in the visitor's number format
    cover = main.locator("img.campaign-cover")
    expect(cover).to_be_visible()
    assert cover.evaluate("img => img.complete && img.naturalWidth > 0"), "cover did not load"
    # The page's own chrome is in Chinese too.
    nav = page.locator("header nav.site-nav")
    expect(nav.get_by_role("link", name="募捐活动")).to_be_visible()
    expect(nav.get_by_role("link", name="登录")).to_be_visible()
    screenshot(page, "journey-campaign-zh")


def visitor_switches_language_and_it_sticks(page: Page) -> None:
    campaign_url = page.url
    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(campaign_url)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The campaign's own words stay as written; the page around them is in English.
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")

    page.get_by_role("link", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.goto(campaign_url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")


def test_organiser_to_admin_to_chinese_visitor(
    new_page: NewPage, seed: Seeder, cover_png: Path
) -> None:
    # An admin has registered the charity the organiser works with before the journey starts.
    host = seed.host("Zhaotong Rural Education Foundation")
    campaign_path = organiser_registers_and_submits_a_campaign(
        new_page(locale="en-GB"), seed, cover_png, host
    )
    visitor = new_page(locale="zh-CN")
    # Until an admin approves it, the campaign is private: a visitor cannot find or open it.
    response = visitor.goto(campaign_path)
    assert response is not None
    assert response.status == 404
    visitor.goto("/campaigns?q=营养午餐")
    expect(visitor.get_by_role("link", name=TITLE)).to_have_count(0)

    admin_approves_it(new_page(locale="en-GB"), seed, host.name)
    visitor_finds_it_and_reads_it_in_chinese(visitor)
    visitor_switches_language_and_it_sticks(visitor)
