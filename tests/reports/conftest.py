"""Fixtures for report tests: an app that can read children's records, and a campaign whose
ledger holds gifts, fees, a refund, a dispute and a disbursement that reached children."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.impact.support import TEST_DATA_KEY
from tests.reports.support import ReportStory, app_settings, make_report_story


@pytest.fixture
def app(make_app: Callable[..., Flask], app_config: dict[str, Any]) -> Flask:
    return make_app(GIVING_DATA_KEY=TEST_DATA_KEY, **app_config)


@pytest.fixture
def app_context(app: Flask) -> Iterator[Flask]:
    # A request context, so gettext has a locale (English) as in a page or a command.
    with app.test_request_context():
        yield app


@pytest.fixture
def rstory(session: Session, instance_path: Path, app: Flask) -> ReportStory:
    return make_report_story(session, instance_path, app_settings(app))
