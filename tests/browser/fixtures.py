"""Browser fixtures: one Chromium per run, one live Giving server per module, a fresh page each.

Chromium is Debian's (/usr/bin/chromium): Playwright's own browser download is not used. Every
page gets its own browser context, so cookies (session, language choice) never leak between
tests, and the context's locale sets the Accept-Language header like a real browser would.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    StorageState,
    ViewportSize,
    sync_playwright,
)
from sqlalchemy.orm import Session

from giving import create_app
from giving.accounts.models import Role, User
from giving.accounts.services import create_admin, register_user
from giving.campaigns import hosting
from giving.campaigns import services as campaigns
from giving.campaigns.models import Campaign
from giving.campaigns.services import CoverUpload
from giving.config import load_settings
from giving.hosts import services as hosts
from giving.hosts.models import HostOrganisation
from giving.money import Money
from giving.storage import app_storage
from tests.browser.live import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    LiveServer,
    log_in,
    screenshot,
    start_live_server,
)
from tests.conftest import DatabaseFactory

PASSWORD = "correct horse battery"  # test accounts only
_counter = itertools.count(1)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Remember each phase's outcome on the item, so the page fixture can tell if a test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def live_server(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The real app (CSRF on) on a committed scratch database, served on loopback."""
    instance = tmp_path_factory.mktemp("live-instance")
    settings = load_settings(
        {"GIVING_INSTANCE": str(instance), "DATABASE_URL": database_factory.fresh()}
    )
    # Many log-ins from one address in a few seconds is the test, not an attack.
    app = create_app(config={"RATELIMIT_ENABLED": False}, settings=settings)
    server = start_live_server(app)
    yield server
    server.stop()
    server_errors = server.take_errors()
    assert not server_errors, f"the server answered with 5xx: {server_errors}"


class Seeder:
    """Creates data through the services, committed in the live server's database.

    Campaigns are seeded by one organiser, hosted by one registered charity and approved by
    one admin per module: password hashing (Argon2id) is deliberately slow, so the suite
    hashes as few times as it can.
    """

    def __init__(self, live_server: LiveServer) -> None:
        self.live_server = live_server
        self._campaign_organiser: User | None = None
        self._reviewer: User | None = None
        self._host: HostOrganisation | None = None

    @staticmethod
    def unique_email(prefix: str) -> str:
        return f"{prefix}-{next(_counter)}@example.org"

    def user(
        self, prefix: str = "donor", *, name: str = "Dana Donor", roles: set[Role] | None = None
    ) -> User:
        with self.live_server.transaction() as session:
            return register_user(
                session,
                email=self.unique_email(prefix),
                password=PASSWORD,
                display_name=name,
                roles=roles,
            )

    def organiser(self, name: str = "Olivia Organiser") -> User:
        return self.user("organiser", name=name, roles={Role.ORGANISER})

    def admin(self, name: str = "Ada Admin") -> User:
        with self.live_server.transaction() as session:
            return create_admin(
                session, email=self.unique_email("admin"), password=PASSWORD, display_name=name
            )

    def _reviewer_in(self, session: Session) -> User:
        """The module's reviewing admin (who also registers its host), created once."""
        if self._reviewer is None:
            self._reviewer = create_admin(
                session,
                email=self.unique_email("reviewer"),
                password=PASSWORD,
                display_name="Rui Reviewer",
            )
        return session.merge(self._reviewer)

    def host(self, name: str = "Yunnan Rural Children's Foundation") -> HostOrganisation:
        """The module's registered host organisation, registered by an admin on first use
        (``name`` counts only then)."""
        if self._host is None:
            with self.live_server.transaction() as session:
                self._host = hosts.register_host(
                    session,
                    actor=self._reviewer_in(session),
                    name=name,
                    registration_number=f"53530000MJ{next(_counter):08d}",
                    country="CN",
                    contact_email="office@foundation.example.org",
                    contact_phone="+86 871 6543 2100",
                )
        return self._host

    def campaign(
        self,
        *,
        title: str = "School lunches in Zhaotong",
        summary: str = "Hot lunches for 120 pupils at a village school for one term.",
        story: str = "Pupils walk an hour to school.\n\n**Every yuan** buys rice and vegetables.",
        language: str = "en",
        region: str = "CN-YN",
        category: str = "food",
        cover: bytes | None = None,
        live: bool = True,
    ) -> Campaign:
        """A hosted, submitted campaign, approved by an admin too unless ``live=False``."""
        if self._campaign_organiser is None:
            self._campaign_organiser = self.organiser("Lin Organiser")
        host = self.host()
        with self.live_server.transaction() as session:
            organiser = session.merge(self._campaign_organiser)
            upload = None
            if cover is not None:
                upload = CoverUpload(data=cover, storage=app_storage(self.live_server.app))
            campaign = campaigns.create_campaign(
                session,
                actor=organiser,
                title=title,
                summary=summary,
                story=story,
                language=language,
                goal=Money(500_000, "CNY"),
                ends_on=None,
                region=region,
                category=category,
                cover=upload,
            )
            hosting.assign_host(
                session, actor=organiser, campaign=campaign, host=session.merge(host)
            )
            campaigns.submit_for_review(session, actor=organiser, campaign=campaign)
            if live:
                campaigns.approve(session, actor=self._reviewer_in(session), campaign=campaign)
        return campaign


@pytest.fixture(scope="module")
def seed(live_server: LiveServer) -> Seeder:
    return Seeder(live_server)


class SignedIn:
    """One logged-in browser session per role per module, reused by new contexts.

    Logging in goes through the real form once; later pages start from its cookies, so a
    test about the review queue does not pay for a log-in (and an Argon2 check) each time.
    """

    def __init__(self, browser: Browser, live_server: LiveServer, seed: Seeder) -> None:
        self.browser = browser
        self.live_server = live_server
        self.seed = seed
        self.users: dict[str, User] = {}
        self._states: dict[str, StorageState] = {}

    def state(self, who: str) -> StorageState:
        if who not in self._states:
            makers: dict[str, Callable[[], User]] = {
                "donor": self.seed.user,
                "organiser": self.seed.organiser,
                "admin": self.seed.admin,
            }
            user = makers[who]()
            context = self.browser.new_context(base_url=self.live_server.url)
            try:
                log_in(context.new_page(), user.email, PASSWORD)
                self._states[who] = context.storage_state()
            finally:
                context.close()
            self.users[who] = user
        return self._states[who]


@pytest.fixture(scope="module")
def signed_in(browser: Browser, live_server: LiveServer, seed: Seeder) -> SignedIn:
    return SignedIn(browser, live_server, seed)


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(
    browser: Browser,
    live_server: LiveServer,
    signed_in: SignedIn,
    request: pytest.FixtureRequest,
) -> Iterator[NewPage]:
    """Open pages in fresh contexts: ``new_page(locale="zh-CN", viewport=PHONE, as_="admin")``.

    ``as_`` starts the page logged in as that module's donor, organiser or admin.
    """
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    def _new_page(
        locale: str = "en-US", viewport: ViewportSize | None = None, as_: str | None = None
    ) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport=viewport or {"width": 1280, "height": 900},
            storage_state=signed_in.state(as_) if as_ else None,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    live_server.take_errors()
    yield _new_page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        for index, page in enumerate(pages):
            if not page.is_closed():
                safe = "".join(c if c.isalnum() else "-" for c in request.node.name)
                screenshot(page, f"failed-{safe}-{index}")
    for context in contexts:
        context.close()
    # Nothing a browser does may end in a 500; the server's traceback is in the captured log.
    server_errors = live_server.take_errors()
    assert not server_errors, f"the server answered with 5xx: {server_errors}"


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """An English-speaking visitor's page on a desktop-sized window."""
    return new_page()


@pytest.fixture(scope="session")
def cover_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real PNG to upload as a campaign's cover image."""
    from PIL import Image, ImageDraw

    path = tmp_path_factory.mktemp("uploads") / "cover.png"
    image = Image.new("RGB", (640, 360), (244, 226, 206))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 600, 320), outline=(140, 27, 33), width=8)
    draw.ellipse((250, 110, 390, 250), fill=(180, 35, 42))
    image.save(path, format="PNG")
    return path
