"""Where the checkpoint signing key lives, and the log's public name (origin).

``GIVING_SIGNING_KEY`` names an Ed25519 PEM file. Only the embedded local default (the
instance folder's ``signing-key.pem``, outside production) is created on first need, with
mode 0600: a developer gets signed checkpoints with no set-up. In production a missing key is
an error, never silently replaced, because checkpoints signed by a throwaway key would
contradict everything published before; a path someone set explicitly is never invented
either, so a typo fails loudly.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giving.config import Settings
from giving.ledger.checkpoint import (
    SigningKeyError,
    format_vkey,
    generate_signing_key,
    load_private_key,
    public_key_bytes,
    save_private_key,
)
from giving.ledger.errors import SigningKeyUnavailable

DEFAULT_KEY_FILE = "signing-key.pem"


def ledger_origin(settings: Settings) -> str:
    """The log's name in new checkpoints, e.g. ``giving.example.org/ledger``.

    It is GIVING_LEDGER_ORIGIN (default config.DEFAULT_LEDGER_ORIGIN), never derived from
    the web address: a log's origin is its identity, and checkpoints already published keep
    the origin they were signed under (verification checks each against its own).
    """
    return settings.ledger_origin


def is_default_key_path(settings: Settings) -> bool:
    return (
        settings.signing_key_path.resolve() == (settings.instance_path / DEFAULT_KEY_FILE).resolve()
    )


def load_signing_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey:
    """Load the signing key; create the local default on first need (never in production)."""
    path = settings.signing_key_path
    if not path.exists():
        if create and not settings.is_production and is_default_key_path(settings):
            return create_signing_key(path)
        hint = (
            "production needs GIVING_SIGNING_KEY pointing at its key file"
            if settings.is_production
            else "set GIVING_SIGNING_KEY to an existing key file or run `giving keys generate`"
        )
        raise SigningKeyUnavailable(f"The ledger signing key {path} does not exist; {hint}")
    try:
        return load_private_key(path)
    except SigningKeyError as exc:
        raise SigningKeyUnavailable(str(exc)) from None


def create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Generate a key into ``path`` (mode 0600), refusing to replace an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_signing_key()
    try:
        save_private_key(key, path)
    except SigningKeyError:
        # Another process created it a moment ago: use that one, never two keys.
        return load_private_key(path)
    return key


def vkey_text(settings: Settings, key: Ed25519PrivateKey) -> str:
    """The published verifier key (``name+keyid+base64``); the key name is the origin."""
    return format_vkey(ledger_origin(settings), key)


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def public_key_base64(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte Ed25519 public key in standard base64."""
    return base64.b64encode(public_key_bytes(key)).decode("ascii")
