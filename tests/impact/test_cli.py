"""``giving impact rotate-key`` re-encrypts children's records under the newest key."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

from giving.impact.crypto import FieldCipher
from tests.disbursements.support import Story
from tests.impact.support import TEST_DATA_KEY, register

NEW_KEY = "the-next-data-key-after-rotation-0123456789"


def test_rotate_key_moves_every_value_to_the_first_key(
    make_app: Callable[..., Flask], story: Story, session: Session
) -> None:
    # City, needs detail and notes, under the test key.
    child = register(story, city="Xichang", notes="A note", needs_detail="Boots")
    session.commit()
    app = make_app(GIVING_DATA_KEY=f"{NEW_KEY},{TEST_DATA_KEY}")
    result = app.test_cli_runner().invoke(args=["impact", "rotate-key"])
    assert result.exit_code == 0, result.output
    new_id = FieldCipher.from_secrets([NEW_KEY]).key_id
    assert f"Re-encrypted 3 values under key {new_id}" in result.output
    session.refresh(child)
    assert (child.city_enc or "").startswith(f"v1:{new_id}:")
    again = app.test_cli_runner().invoke(args=["impact", "rotate-key"])
    assert "Re-encrypted 0 values" in again.output
