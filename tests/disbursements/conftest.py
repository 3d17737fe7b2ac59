"""Fixtures for disbursement tests: a hosted, funded live campaign with its cast."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.disbursements.support import Story, make_story


@pytest.fixture
def story(session: Session, instance_path: Path) -> Story:
    # The same directory the app's evidence storage uses, so pages find the files.
    return make_story(session, instance_path / "files" / "evidence", grant_auditor=True)
