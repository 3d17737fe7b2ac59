"""The log's origin is its identity (issue 11, item 5): it is a setting of its own that never
follows the web address, and verification checks each stored checkpoint against the origin
and key name it was signed under, so an untouched ledger still verifies after a move."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from giving.config import DEFAULT_LEDGER_ORIGIN, load_settings
from giving.errors import ConfigError
from giving.ledger.checkpoint import (
    format_vkey,
    parse_checkpoint,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
)
from giving.ledger.keys import ledger_origin, load_signing_key
from giving.ledger.models import LedgerCheckpoint
from giving.ledger.services import latest_checkpoint, make_checkpoint
from giving.ledger.tree import load_frontier, log_size
from giving.ledger.verify import LedgerCorrupt, verify_ledger
from tests.ledger.support import add_campaign, donate


@pytest.mark.parametrize(
    "url", ["https://giving.example.org", "http://127.0.0.1:5000", "http://127.0.0.1:5123"]
)
def test_the_origin_never_follows_the_web_address(url: str) -> None:
    assert ledger_origin(load_settings({"GIVING_PUBLIC_URL": url})) == DEFAULT_LEDGER_ORIGIN
    assert ledger_origin(load_settings({})) == DEFAULT_LEDGER_ORIGIN


def test_the_origin_is_its_own_setting() -> None:
    settings = load_settings(
        {"GIVING_LEDGER_ORIGIN": "giving.example.org/ledger", "GIVING_PUBLIC_URL": "http://x"}
    )
    assert ledger_origin(settings) == "giving.example.org/ledger"
    with pytest.raises(ConfigError, match="GIVING_LEDGER_ORIGIN"):
        load_settings({"GIVING_LEDGER_ORIGIN": "giving example/ledger"})
    with pytest.raises(ConfigError, match="GIVING_LEDGER_ORIGIN"):
        load_settings({"GIVING_LEDGER_ORIGIN": "a+b"})


def test_a_checkpoint_stores_the_origin_and_key_it_was_signed_under(
    session: Session, app: Flask
) -> None:
    key = load_signing_key(app.extensions["giving.settings"])
    checkpoint = make_checkpoint(session, key, origin="giving.example.org/ledger")
    assert checkpoint.origin == parse_checkpoint(checkpoint.note).origin
    assert checkpoint.key_name == "giving.example.org/ledger"
    assert checkpoint.key_id == verifier_key("giving.example.org/ledger", key).key_id


def _legacy_checkpoint(session: Session, key: object, origin: str) -> None:
    """A checkpoint as stored before migration 0010: the note only, origin from the old URL."""
    size = log_size(session)
    root = load_frontier(session, size).root()
    note = sign_checkpoint(origin, size, root, key, origin)  # type: ignore[arg-type]
    session.add(LedgerCheckpoint(tree_size=size, root=root, note=note))
    session.flush()


def test_verify_after_a_change_of_address_passes_on_an_untouched_ledger(
    session: Session, app: Flask, runner: FlaskCliRunner
) -> None:
    settings = app.extensions["giving.settings"]
    key = load_signing_key(settings)
    campaign = add_campaign(session)
    donate(session, campaign, 1_200_00)
    # Signed while the origin followed GIVING_PUBLIC_URL=https://giving.example.org ...
    _legacy_checkpoint(session, key, "giving.example.org/ledger")
    donate(session, campaign, 500)
    # ... and while the shell had it unset (the old default).
    _legacy_checkpoint(session, key, "127.0.0.1:5000/ledger")
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0  # today's origin

    for changed in (
        settings,
        dataclasses.replace(settings, public_base_url="http://127.0.0.1:5123"),
        dataclasses.replace(settings, ledger_origin="giving.example.net/books"),
    ):
        app.extensions["giving.settings"] = changed
        result = runner.invoke(args=["ledger", "verify", "--no-figures"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("OK: 2 entries, 3 checkpoints")
    # A published vkey of the same key, under any of its names, verifies them all too.
    result = runner.invoke(
        args=["ledger", "verify", "--no-figures", "--key", format_vkey("other/name", key)]
    )
    assert result.exit_code == 0, result.output


def test_a_stored_origin_that_disagrees_with_the_note_is_reported(
    session: Session, app: Flask
) -> None:
    key = load_signing_key(app.extensions["giving.settings"])
    size = log_size(session)
    root = load_frontier(session, size).root()
    note = sign_checkpoint("a.example/ledger", size, root, key, "a.example/ledger")
    session.add(
        LedgerCheckpoint(
            tree_size=size,
            root=root,
            note=note,
            origin="b.example/ledger",
            key_name="a.example/ledger",
            key_id=verifier_key("a.example/ledger", key).key_id,
        )
    )
    session.flush()
    with pytest.raises(
        LedgerCorrupt, match=r"origin 'a\.example/ledger' is not 'b\.example/ledger'"
    ):
        verify_ledger(session, format_vkey("a.example/ledger", key))


def test_a_checkpoint_by_another_key_still_fails(session: Session, app: Flask) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = load_signing_key(app.extensions["giving.settings"])
    make_checkpoint(session, Ed25519PrivateKey.generate(), origin=DEFAULT_LEDGER_ORIGIN)
    with pytest.raises(LedgerCorrupt, match="no signature by key"):
        verify_ledger(session, format_vkey(DEFAULT_LEDGER_ORIGIN, key))
    session.rollback()
    _legacy_checkpoint(session, Ed25519PrivateKey.generate(), "old.example/ledger")
    with pytest.raises(LedgerCorrupt, match=r"no signature by key old\.example/ledger"):
        verify_ledger(session, format_vkey(DEFAULT_LEDGER_ORIGIN, key))


def test_receipts_and_reports_reuse_only_a_checkpoint_signed_as_they_publish(
    session: Session, app: Flask
) -> None:
    key = load_signing_key(app.extensions["giving.settings"])
    _legacy_checkpoint(session, key, "127.0.0.1:5000/ledger")
    assert latest_checkpoint(session, signed_as=(DEFAULT_LEDGER_ORIGIN, key)) is None
    fresh = make_checkpoint(session, key, origin=DEFAULT_LEDGER_ORIGIN)
    _legacy_checkpoint(session, key, "127.0.0.1:5000/ledger")
    assert latest_checkpoint(session, signed_as=(DEFAULT_LEDGER_ORIGIN, key)) is fresh


def test_the_api_says_what_the_latest_checkpoint_was_signed_under(
    session: Session, app: Flask, client: FlaskClient
) -> None:
    key = load_signing_key(app.extensions["giving.settings"])
    _legacy_checkpoint(session, key, "127.0.0.1:5000/ledger")

    checkpoint = client.get("/api/v1/ledger/checkpoint").get_json()

    assert (checkpoint["origin"], checkpoint["key_name"]) == (
        "127.0.0.1:5000/ledger",
        "127.0.0.1:5000/ledger",
    )
    vkey = format_vkey(checkpoint["key_name"], key)
    assert verify_checkpoint(checkpoint["note"], vkey, origin=checkpoint["origin"])
