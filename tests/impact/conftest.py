"""Fixtures for impact tests: the hosted, funded campaign story, and an app that encrypts
children's records with a known test key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.disbursements.support import Story, make_story
from tests.impact.support import TEST_DATA_KEY


@pytest.fixture
def story(session: Session, instance_path: Path) -> Story:
    return make_story(session, instance_path / "files" / "evidence", raised_minor=1_000_000)


@pytest.fixture
def app(make_app: Callable[..., Flask], app_config: dict[str, Any]) -> Flask:
    return make_app(GIVING_DATA_KEY=TEST_DATA_KEY, **app_config)
