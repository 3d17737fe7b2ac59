"""Fixtures for the safety tests: an app with the test data key, and the seeded campaign."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.impact.support import TEST_DATA_KEY
from tests.safety.seed import LeakStory, seed_leak_story


@pytest.fixture
def app(make_app: Callable[..., Flask], app_config: dict[str, Any]) -> Flask:
    return make_app(GIVING_DATA_KEY=TEST_DATA_KEY, **app_config)


@pytest.fixture
def leak(session: Session, instance_path: Path, app: Flask) -> LeakStory:
    with app.test_request_context():
        story = seed_leak_story(session, instance_path)
    session.commit()
    return story
