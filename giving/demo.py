"""Demo data (placeholder)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def seed_demo(session: Session) -> str:
    return "Demo data ready."
