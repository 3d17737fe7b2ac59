"""The registry's pages in a browser: axe-core finds nothing, and they fit a 375 px phone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from giving.impact import services
from giving.impact.fields import ChildValues

# The browser fixtures live in tests/browser/fixtures.py, a plugin of tests/conftest.py, so
# one Chromium serves every folder (a live server per module, as in tests/browser).
from tests.browser.fixtures import PASSWORD, NewPage, Seeder
from tests.browser.live import PHONE, LiveServer, axe_violations, describe_violations, log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def registry(
    seed: Seeder,
    live_server: LiveServer,
) -> tuple[str, str, str]:
    """(campaign public id, a child's ref, the organiser's email) in the live database."""
    from giving.impact.keyring import field_cipher

    campaign = seed.campaign(title="Winter coats in Zhaotong")
    organiser = seed._campaign_organiser
    assert organiser is not None
    with live_server.transaction() as session:
        with live_server.app.app_context():
            cipher = field_cipher()
        child = services.register_child(
            session,
            actor=session.merge(organiser),
            campaign=session.merge(campaign),
            values=ChildValues(
                None,
                "6-11",
                "female",
                "CN-YN",
                "Zhaotong",
                ("food",),
                "",
                True,
                dt.date(2026, 3, 1),
                "Needs boots",
            ),
            cipher=cipher,
        )
        ref = child.ref
    return campaign.public_id, ref, organiser.email


def assert_accessible(page: Page, what: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core on {what} ({page.url}):\n{describe_violations(violations)}"


def assert_fits_phone(page: Page, what: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= PHONE["width"], f"{what} scrolls sideways: {widths}"


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_registry_pages_are_accessible(
    new_page: NewPage,
    registry: tuple[str, str, str],
    viewport: ViewportSize | None,
    tmp_path: Path,
) -> None:
    public_id, ref, email = registry
    page = new_page(viewport=viewport)
    log_in(page, email, PASSWORD)
    pages = {
        "registry": f"/registry/{public_id}/children",
        "child record": f"/registry/{public_id}/children/{ref}",
        "child form": f"/registry/{public_id}/children/new",
        "edit form": f"/registry/{public_id}/children/{ref}/edit",
        "import": f"/registry/{public_id}/children/import",
        "access log": f"/registry/{public_id}/access-log",
    }
    for what, path in pages.items():
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, what
        assert_accessible(page, what)
        if viewport is not None:
            assert_fits_phone(page, what)

    # A form and an import showing their errors are accessible too.
    page.goto(pages["child form"])
    page.locator("input[name=city]").fill("Zhaotong Dongfeng village")
    page.get_by_role("main").locator("form button[type=submit]").click()
    expect(page.locator(".field.has-error").first).to_be_visible()
    assert_accessible(page, "child form with errors")

    bad = tmp_path / "children.csv"
    bad.write_text("code,age_band,province,consent\n,99,CN-YN,maybe\n", encoding="utf-8")
    page.goto(pages["import"])
    page.locator("input[name=file]").set_input_files(str(bad))
    page.get_by_role("main").locator("form button[type=submit]").click()
    expect(page.locator(".import-errors")).to_be_visible()
    assert_accessible(page, "import with errors")
    if viewport is not None:
        assert_fits_phone(page, "import with errors")
