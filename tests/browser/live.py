"""A real Giving server on loopback for browser tests, and helpers the browser tests share.

The server is the production app (CSRF on, real sessions, real error pages) behind werkzeug's
threaded server, so Chromium exercises exactly what a visitor would. Tests seed data through
the services in the server's own database and drive everything else through the page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from giving import PROJECT_ROOT
from giving.db import transaction

ARTIFACTS = PROJECT_ROOT / "test-artifacts"

# Flags that keep Chromium quiet on a machine without a network: no background updates, sync
# or field trials that would otherwise hammer the closed network and slow every launch.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CHROMIUM_PATH = "/usr/bin/chromium"

PHONE = {"width": 375, "height": 740}


class _QuietHandler(WSGIRequestHandler):
    """No access log lines in the test output; failures are caught by status below."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class LiveServer:
    """The app served on 127.0.0.1 with a random port, running in a background thread."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread
    server_errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A committed unit of work in the server's database, for seeding through services."""
        factory: sessionmaker[Session] = self.app.extensions["giving.sessionmaker"]
        # Services translate their messages, and the locale selector reads the request.
        with self.app.test_request_context():
            session = factory()
            try:
                with transaction(session):
                    yield session
            finally:
                session.close()

    def take_errors(self) -> list[str]:
        """The 5xx answers since the last call, so each test reports its own."""
        errors, self.server_errors[:] = list(self.server_errors), []
        return errors

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.app.extensions["giving.engine"].dispose()


def start_live_server(app: Flask) -> LiveServer:
    """Serve ``app`` and record every 5xx, so a test fails if the server ever broke."""
    errors: list[str] = []
    inner = app.wsgi_app

    def recording_wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            if status.startswith("5"):
                request = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
                errors.append(f"{request}: {status}")
            return start_response(status, headers, exc_info)

        return inner(environ, recording_start_response)

    app.wsgi_app = recording_wsgi_app  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="giving-live-server", daemon=True)
    thread.start()
    return LiveServer(app=app, server=server, thread=thread, server_errors=errors)


def log_in(page: Page, email: str, password: str) -> None:
    """Log in through the form, as a person would, and wait to be sent on.

    A page already showing the log-in form (e.g. after being sent there with ``?next=``)
    is used as it is, so the redirect back can be checked.
    """
    if "/account/login" not in page.url:
        page.goto("/account/login")
    # Located by field name, not label, so the helper works whatever the page's language.
    form = page.get_by_role("main").locator("form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/account/login" not in url)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page, once its stylesheet has loaded, and return its violations."""
    page.wait_for_load_state("load")
    results = Axe().run(page)
    return list(results.response["violations"])


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """A readable report: rule, impact, help and each offending element with axe's hint."""
    lines: list[str] = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']}"
            f" [{violation.get('helpUrl', '')}]"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:400]}")
    return "\n".join(lines)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot to test-artifacts/ (gitignored) for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
