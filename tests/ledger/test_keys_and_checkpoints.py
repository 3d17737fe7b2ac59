"""The signing key's life cycle and the signed checkpoints it makes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from giving.config import load_settings
from giving.ledger.checkpoint import load_private_key, parse_vkey, verify_checkpoint
from giving.ledger.errors import SigningKeyUnavailable
from giving.ledger.keys import ledger_origin, load_signing_key, vkey_text
from giving.ledger.models import LedgerCheckpoint
from giving.ledger.services import latest_checkpoint, make_checkpoint
from giving.ledger.tree import LedgerTree
from tests.ledger.support import add_campaign, donate


def test_the_local_default_key_is_created_on_first_need_readable_only_by_its_owner(
    tmp_path: Path,
) -> None:
    settings = load_settings({"GIVING_INSTANCE": str(tmp_path)})
    path = tmp_path / "signing-key.pem"
    assert not path.exists()

    key = load_signing_key(settings)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert vkey_text(settings, load_signing_key(settings)) == vkey_text(settings, key)


def test_production_never_invents_a_missing_key(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "GIVING_ENV": "production",
            "GIVING_INSTANCE": str(tmp_path),
            "SECRET_KEY": "s" * 40,
            "DATABASE_URL": "postgresql://db/giving",
            "GIVING_DATA_KEY": "d" * 40,
            "RATELIMIT_STORAGE_URI": "redis://redis/0",
        }
    )

    with pytest.raises(SigningKeyUnavailable, match="production needs GIVING_SIGNING_KEY"):
        load_signing_key(settings)
    assert not (tmp_path / "signing-key.pem").exists()


def test_a_key_path_set_explicitly_is_never_invented(tmp_path: Path) -> None:
    settings = load_settings(
        {"GIVING_INSTANCE": str(tmp_path), "GIVING_SIGNING_KEY": str(tmp_path / "typo.pem")}
    )

    with pytest.raises(SigningKeyUnavailable, match=r"typo\.pem does not exist"):
        load_signing_key(settings)
    assert not (tmp_path / "typo.pem").exists()


def test_a_file_that_is_not_a_key_is_reported(tmp_path: Path) -> None:
    (tmp_path / "signing-key.pem").write_text("hello")
    settings = load_settings({"GIVING_INSTANCE": str(tmp_path)})

    with pytest.raises(SigningKeyUnavailable, match="not an unencrypted PEM private key"):
        load_signing_key(settings)


@pytest.mark.parametrize(
    ("environ", "origin"),
    [
        # Issue 11: the origin used to follow GIVING_PUBLIC_URL, which renamed the log.
        ({"GIVING_PUBLIC_URL": "https://giving.example.org"}, "giving.local/ledger"),
        ({"GIVING_LEDGER_ORIGIN": "giving.example.org/ledger"}, "giving.example.org/ledger"),
        (
            {"GIVING_LEDGER_ORIGIN": "giving.example.org/ledger", "GIVING_PUBLIC_URL": "http://x"},
            "giving.example.org/ledger",
        ),
    ],
)
def test_the_origin_is_its_own_setting(environ: dict[str, str], origin: str) -> None:
    assert ledger_origin(load_settings(environ)) == origin


def test_keys_generate_writes_a_new_key_and_never_overwrites_one(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "platform.pem"

    result = runner.invoke(args=["keys", "generate", "-o", str(path)])

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    vkey = result.output.strip().splitlines()[-1].removeprefix("Public verifier key: ")
    assert parse_vkey(vkey).name == "giving.local/ledger"  # the default GIVING_LEDGER_ORIGIN
    before = path.read_bytes()

    again = runner.invoke(args=["keys", "generate", "-o", str(path)])

    assert again.exit_code == 2
    assert "already exists" in again.output
    assert path.read_bytes() == before


def test_keys_generate_into_a_missing_folder_is_a_usage_error(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(args=["keys", "generate", "-o", str(tmp_path / "nope" / "k.pem")])

    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_keys_show_prints_the_vkey_of_the_configured_key(
    runner: FlaskCliRunner, app: Flask
) -> None:
    settings = app.extensions["giving.settings"]
    key = load_signing_key(settings)

    result = runner.invoke(args=["keys", "show"])

    assert result.exit_code == 0
    assert result.output.strip() == vkey_text(settings, key)


def test_a_checkpoint_signs_the_current_tree_head(session: Session, tmp_path: Path) -> None:
    settings = load_settings({"GIVING_INSTANCE": str(tmp_path)})
    key = load_signing_key(settings)
    campaign = add_campaign(session)
    for amount in (100, 200, 300):
        donate(session, campaign, amount)

    checkpoint = make_checkpoint(session, key, origin=ledger_origin(settings))

    parsed = verify_checkpoint(checkpoint.note, vkey_text(settings, key))
    assert (parsed.size, parsed.root_hash) == (3, LedgerTree(session).root())
    assert (checkpoint.tree_size, checkpoint.root) == (3, parsed.root_hash)
    assert parsed.origin == ledger_origin(settings)
    assert latest_checkpoint(session) is checkpoint


def test_ledger_checkpoint_command_prints_and_stores_a_signed_note(
    runner: FlaskCliRunner, app: Flask, session: Session
) -> None:
    campaign = add_campaign(session)
    donate(session, campaign, 500)

    result = runner.invoke(args=["ledger", "checkpoint"])

    assert result.exit_code == 0, result.output
    settings = app.extensions["giving.settings"]
    key = load_private_key(settings.signing_key_path)
    parsed = verify_checkpoint(result.output, vkey_text(settings, key))
    assert parsed.size == 1
    stored = session.query(LedgerCheckpoint).one()
    assert stored.note == result.output
