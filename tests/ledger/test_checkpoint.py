"""Signed checkpoints: C2SP signed-note and tlog-checkpoint, Ed25519 keys and their files."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giving.ledger.checkpoint import (
    CheckpointError,
    SigningKeyError,
    checkpoint_body,
    format_vkey,
    generate_signing_key,
    key_id,
    load_private_key,
    parse_checkpoint,
    parse_vkey,
    public_key_bytes,
    save_private_key,
    sign_checkpoint,
    sign_note,
    signing_key_from_seed,
    verify_checkpoint,
    verify_note,
)

# Published example of golang.org/x/mod/sumdb/note (note_test.go).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6"
    "KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33"
    "WWd1RvMc+QQ=\n"
)

ORIGIN = "giving.example.org/ledger"
ROOT = hashlib.sha256(b"some tree head").digest()


def peter_signing_key() -> Ed25519PrivateKey:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:]
    return signing_key_from_seed(seed)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_signing_key()


# --------------------------------------------------------------------------- published vectors


def test_key_id_and_vkey_match_the_published_go_example() -> None:
    signer = peter_signing_key()
    assert key_id("PeterNeumann", public_key_bytes(signer)).hex() == "c74f20a3"
    assert format_vkey("PeterNeumann", signer) == PETER_VKEY


def test_signed_note_matches_the_published_go_example_byte_for_byte() -> None:
    assert sign_note(PETER_TEXT, peter_signing_key(), "PeterNeumann") == (
        PETER_TEXT + "\n" + PETER_SIG
    )


def test_published_note_verifies_and_unknown_cosignatures_are_ignored() -> None:
    assert verify_note(PETER_TEXT + "\n" + PETER_SIG + ENOCH_SIG, PETER_VKEY) == PETER_TEXT
    assert verify_note(PETER_TEXT + "\n" + PETER_SIG + ENOCH_SIG, ENOCH_VKEY) == PETER_TEXT


def test_published_vkeys_parse_with_their_key_ids() -> None:
    enoch = parse_vkey(ENOCH_VKEY)
    assert enoch.name == "EnochRoot"
    assert enoch.key_id.hex() == "af0cfe78"
    assert enoch.to_text() == ENOCH_VKEY


@pytest.mark.parametrize(
    "bad",
    [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "",
    ],
)
def test_malformed_vkeys_are_refused(bad: str) -> None:
    with pytest.raises(CheckpointError):
        parse_vkey(bad)


def test_every_single_character_change_of_a_vkey_is_refused() -> None:
    for position in range(len(PETER_VKEY)):
        changed = (
            PETER_VKEY[:position] + chr(ord(PETER_VKEY[position]) + 1) + PETER_VKEY[position + 1 :]
        )
        with pytest.raises(CheckpointError):
            parse_vkey(changed)


# --------------------------------------------------------------------------- round trip


def test_signed_checkpoint_has_the_tlog_checkpoint_layout(key: Ed25519PrivateKey) -> None:
    note = sign_checkpoint(ORIGIN, 42, ROOT, key, ORIGIN)
    body, signature_line = note.split("\n\n")
    assert body + "\n" == checkpoint_body(ORIGIN, 42, ROOT)
    assert body.split("\n") == [ORIGIN, "42", base64.b64encode(ROOT).decode()]
    assert signature_line.startswith("\u2014 " + ORIGIN + " ")
    payload = base64.b64decode(signature_line.split(" ")[2])
    assert payload[:4] == key_id(ORIGIN, public_key_bytes(key))
    assert len(payload) == 4 + 64


def test_checkpoint_round_trips_through_sign_and_verify(key: Ed25519PrivateKey) -> None:
    note = sign_checkpoint(ORIGIN, 42, ROOT, key, ORIGIN)
    checkpoint = verify_checkpoint(note, format_vkey(ORIGIN, key), origin=ORIGIN)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == (ORIGIN, 42, ROOT)
    assert checkpoint.extensions == ()
    assert verify_checkpoint(note.encode(), parse_vkey(format_vkey(ORIGIN, key))) == checkpoint


def test_empty_log_checkpoint_is_size_zero(key: Ed25519PrivateKey) -> None:
    empty = hashlib.sha256(b"").digest()
    note = sign_checkpoint(ORIGIN, 0, empty, key, ORIGIN)
    assert verify_checkpoint(note, format_vkey(ORIGIN, key)).size == 0


def test_extension_lines_are_parsed_and_covered_by_the_signature(key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 7, ROOT) + "timestamp 1714550400\n"
    note = sign_note(body, key, ORIGIN)
    assert verify_checkpoint(note, format_vkey(ORIGIN, key)).extensions == ("timestamp 1714550400",)


# --------------------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    ("old", "new"),
    [("\n42\n", "\n43\n"), (ORIGIN + "\n", "giving.example.org/other\n")],
    ids=["size", "origin"],
)
def test_tampered_body_is_a_bad_signature(key: Ed25519PrivateKey, old: str, new: str) -> None:
    note = sign_checkpoint(ORIGIN, 42, ROOT, key, ORIGIN).replace(old, new, 1)
    with pytest.raises(CheckpointError, match="bad signature"):
        verify_checkpoint(note, format_vkey(ORIGIN, key))


def test_tampered_root_is_a_bad_signature(key: Ed25519PrivateKey) -> None:
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    note = sign_checkpoint(ORIGIN, 42, ROOT, key, ORIGIN)
    note = note.replace(base64.b64encode(ROOT).decode(), other_root)
    with pytest.raises(CheckpointError, match="bad signature"):
        verify_checkpoint(note, format_vkey(ORIGIN, key))


def test_tampered_signature_is_a_bad_signature(key: Ed25519PrivateKey) -> None:
    note = sign_checkpoint(ORIGIN, 42, ROOT, key, ORIGIN)
    body, line = note.split("\n\n")
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    payload = bytearray(base64.b64decode(encoded))
    payload[10] ^= 0x01
    forged = f"{body}\n\n{prefix} {base64.b64encode(bytes(payload)).decode()}\n"
    with pytest.raises(CheckpointError, match="bad signature"):
        verify_checkpoint(forged, format_vkey(ORIGIN, key))


def test_signature_by_another_key_is_not_accepted(key: Ed25519PrivateKey) -> None:
    note = sign_checkpoint(ORIGIN, 42, ROOT, generate_signing_key(), ORIGIN)
    with pytest.raises(CheckpointError, match="no signature by key"):
        verify_checkpoint(note, format_vkey(ORIGIN, key))


def test_a_failing_line_that_claims_the_trusted_key_rejects_the_note(
    key: Ed25519PrivateKey,
) -> None:
    good = sign_checkpoint(ORIGIN, 42, ROOT, key, ORIGIN)
    body, line = good.split("\n\n")
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    payload = base64.b64decode(encoded)
    bad_line = f"{prefix} {base64.b64encode(payload[:4] + bytes(64)).decode()}\n"
    with pytest.raises(CheckpointError, match="bad signature"):
        verify_checkpoint(f"{body}\n\n{line}{bad_line}", format_vkey(ORIGIN, key))


def test_origin_can_be_pinned(key: Ed25519PrivateKey) -> None:
    note = sign_checkpoint(ORIGIN, 1, ROOT, key, ORIGIN)
    with pytest.raises(CheckpointError, match="origin"):
        verify_checkpoint(note, format_vkey(ORIGIN, key), origin="giving.example.org/other")


# --------------------------------------------------------------------------- syntax

GOOD = f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (GOOD, "blank line"),
        (GOOD + "\n", "newline after"),
        (GOOD + "\n" + PETER_SIG.rstrip("\n"), "newline after"),
        (GOOD + "\n" + PETER_SIG.replace("\u2014", "--"), "em dash"),
        (GOOD + "\n" + PETER_SIG + "Unexpected line.\n", "em dash"),
        (GOOD + "\n" + "\u2014 Bad Name AAAAAAAA\n", "key name"),
        (GOOD + "\n" + "\u2014 PeterNeumann AAAA\n", "too short"),
        (GOOD + "\n" + "\u2014 PeterNeumann not*base64\n", "base64"),
        (GOOD + "\n" + PETER_SIG * 101, "more than 100"),
        ("\x01" + GOOD + "\n" + PETER_SIG, "control"),
        (f"{ORIGIN}\n042\n{base64.b64encode(ROOT).decode()}\n\n{PETER_SIG}", "decimal"),
        (f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n\n{PETER_SIG}", "decimal"),
        (f"{ORIGIN}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n\n{PETER_SIG}", "31 bytes"),
        (f"{ORIGIN}\n42\n{base64.urlsafe_b64encode(b'?' * 32).decode()}\n\n{PETER_SIG}", "base64"),
        (f"{ORIGIN}\n42\n\n{PETER_SIG}", "origin, tree size and root"),
    ],
)
def test_malformed_notes_are_refused_with_a_reason(note: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(note)


def test_non_utf8_note_is_refused() -> None:
    with pytest.raises(CheckpointError, match="UTF-8"):
        parse_checkpoint(b"\xff" + GOOD.encode() + b"\n" + PETER_SIG.encode())


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\there"])
def test_invalid_key_names_are_refused(name: str) -> None:
    with pytest.raises(CheckpointError, match="key name"):
        key_id(name, bytes(32))


# --------------------------------------------------------------------------- key files


def test_private_key_file_round_trips_with_owner_only_permissions(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    path = tmp_path / "signing.pem"
    save_private_key(key, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public_key_bytes(load_private_key(path)) == public_key_bytes(key)


def test_existing_key_file_is_not_overwritten_unless_asked(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    path = tmp_path / "signing.pem"
    save_private_key(key, path)
    with pytest.raises(SigningKeyError, match="already exists"):
        save_private_key(generate_signing_key(), path)
    assert public_key_bytes(load_private_key(path)) == public_key_bytes(key)
    path.chmod(0o644)
    replacement = generate_signing_key()
    save_private_key(replacement, path, overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_bytes(load_private_key(path)) == public_key_bytes(replacement)


def test_loading_a_missing_garbage_or_non_ed25519_key_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_private_key(tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM"):
        load_private_key(garbage)
    ec_key = tmp_path / "ec.pem"
    ec_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        load_private_key(ec_key)


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(SigningKeyError, match="32 bytes"):
        signing_key_from_seed(b"short")
