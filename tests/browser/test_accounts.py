"""Accounts and languages, as a person in a real browser meets them (CSRF and cookies on)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.fixtures import PASSWORD, NewPage, Seeder
from tests.browser.live import log_in

pytestmark = pytest.mark.browser

NAV = "Main"


def test_a_visitor_registers_as_organiser_then_logs_in(page: Page, seed: Seeder) -> None:
    email = seed.unique_email("new-organiser")
    page.goto("/")
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")

    page.get_by_label("Your name").fill("Mei Organiser")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I want to start campaigns as an organiser").check()
    page.get_by_role("main").get_by_role("button", name="Register").click()

    # The same answer as for an email that already has an account: nobody is logged in yet.
    expect(page.get_by_role("status")).to_contain_text("Thank you for registering.")
    expect(page).to_have_url(re.compile(r"/account/login"))
    log_in(page, email, PASSWORD)
    expect(page.get_by_role("status")).to_contain_text("You are logged in.")
    nav = page.get_by_role("navigation", name=NAV)
    expect(nav.get_by_role("link", name="My campaigns")).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    expect(nav.get_by_role("link", name="Log in")).to_have_count(0)


def test_a_registration_mistake_is_shown_and_what_was_typed_is_kept(
    page: Page, seed: Seeder
) -> None:
    email = seed.unique_email("typo")
    page.goto("/account/register")
    page.get_by_label("Your name").fill("Li Typo")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD + " oops")
    page.get_by_role("main").get_by_role("button", name="Register").click()

    expect(page.get_by_role("alert")).to_contain_text("Please correct the highlighted fields.")
    repeat = page.get_by_label("Repeat the password")
    expect(repeat).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#confirm-error")).to_have_text("The passwords differ.")
    expect(page.get_by_label("Your name")).to_have_value("Li Typo")
    expect(page.get_by_label("Email")).to_have_value(email)


def test_a_donor_logs_in_changes_password_logs_out_and_back_in(page: Page, seed: Seeder) -> None:
    donor = seed.user(name="Wang Donor")
    log_in(page, donor.email, PASSWORD)
    expect(page.get_by_role("status")).to_contain_text("You are logged in.")

    page.get_by_role("navigation", name=NAV).get_by_role("link", name="Account").click()
    expect(page.get_by_role("main")).to_contain_text(f"Logged in as {donor.email}.")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a much newer passphrase")
    page.get_by_label("Repeat the new password").fill("a much newer passphrase")
    page.get_by_role("main").get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed.")

    page.get_by_role("navigation", name=NAV).get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_contain_text("You are logged out.")

    page.goto("/account/login")
    page.get_by_label("Email").fill(donor.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "That email and password do not match an account."
    )
    expect(page.get_by_label("Email")).to_have_value(donor.email)

    log_in(page, donor.email, "a much newer passphrase")
    expect(page.get_by_role("status")).to_contain_text("You are logged in.")


def test_the_account_page_sends_a_visitor_to_log_in_first(page: Page, seed: Seeder) -> None:
    donor = seed.user(name="Zhao Later")
    page.goto("/account/password")
    expect(page).to_have_url(re.compile(r"/account/login\?next="))
    log_in(page, donor.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/password$"))


def test_a_chinese_browser_gets_the_site_in_chinese(new_page: NewPage) -> None:
    page = new_page(locale="zh-CN")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="募捐活动")).to_be_visible()
    expect(nav.get_by_role("link", name="登录")).to_be_visible()


def test_the_language_switch_wins_over_the_browser_and_sticks(new_page: NewPage) -> None:
    page = new_page(locale="en-US")
    page.goto("/account/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("link", name="简体中文").click()
    # The switch brings the visitor back to the page they were on, now in Chinese.
    expect(page).to_have_url(re.compile(r"/account/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("link", name="简体中文")).to_have_attribute("aria-current", "true")

    page.goto("/account/register")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/account/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="English")).to_have_attribute("aria-current", "true")


def test_a_chinese_browser_can_switch_to_english(new_page: NewPage) -> None:
    page = new_page(locale="zh-CN")
    page.goto("/account/register")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
