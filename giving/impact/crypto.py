"""Field encryption for children's records: AES-256-GCM under keys that can rotate.

Children's records are personal data of minors, so the free-text and identifying fields
(notes, city, needs detail) are stored encrypted; a database dump or backup alone reveals
nothing but pseudonymous codes and coarse categories.

* Keys come from secrets: ``GIVING_DATA_KEY`` holds one or more comma-separated secrets (the
  first encrypts, all decrypt, so an old key stays readable while records are re-encrypted).
  Each 256-bit key is derived from its secret with HKDF-SHA256, so any long random string
  works as a secret.
* Without ``GIVING_DATA_KEY`` a local secret is generated once into the instance folder
  (``data-key``, mode 0600), like the ledger's signing key; production refuses to start
  without the variable (:func:`require_data_key_in_production`).
* A stored value is ``v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``. The key id is a
  fingerprint of the key (not the key), so rotation knows which key opens which value.
* The associated data binds a value to its place (table, column and the record's random
  reference), so a ciphertext copied into another child's row or column fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from giving.config import (
    DATA_KEY_VAR as ENV_VAR,
)
from giving.config import (
    MIN_PRODUCTION_SECRET_LENGTH,
    parse_secrets,
    require_data_key_in_production,
)
from giving.errors import ConfigError

__all__ = [
    "MIN_PRODUCTION_SECRET_LENGTH",
    "DecryptionError",
    "FieldCipher",
    "cipher_from_environment",
    "derive_key",
    "local_secret",
    "parse_secrets",
    "require_data_key_in_production",
]

LOCAL_KEY_FILE = "data-key"
FORMAT_VERSION = "v1"
_NONCE_BYTES = 12
_HKDF_SALT = b"giving field encryption salt v1"
_HKDF_INFO = b"giving field encryption key v1"


class DecryptionError(RuntimeError):
    """A stored value could not be opened: unknown key, tampering, or a copied ciphertext."""


@dataclass(frozen=True, slots=True)
class DataKey:
    """One AES-256 key and its public fingerprint."""

    key_id: str
    # Kept out of repr so key material never lands in logs or tracebacks.
    key: bytes = field(repr=False)


def derive_key(secret: str) -> DataKey:
    """The AES-256 key for ``secret`` (HKDF-SHA256) and its 8-hex-digit key id."""
    if not secret:
        raise ConfigError(f"{ENV_VAR} contains an empty secret")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        secret.encode("utf-8")
    )
    key_id = hashlib.sha256(b"giving data key id\x00" + key).hexdigest()[:8]
    return DataKey(key_id=key_id, key=key)


class FieldCipher:
    """Encrypts with the first key, decrypts with whichever key a value names."""

    def __init__(self, keys: Sequence[DataKey]) -> None:
        if not keys:
            raise ConfigError("field encryption needs at least one key")
        self._current = keys[0]
        self._by_id: dict[str, DataKey] = {}
        for key in keys:
            self._by_id.setdefault(key.key_id, key)

    @classmethod
    def from_secrets(cls, secrets_: Sequence[str]) -> FieldCipher:
        return cls([derive_key(secret) for secret in secrets_])

    @property
    def key_id(self) -> str:
        """The id of the key new values are encrypted with."""
        return self._current.key_id

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self._current.key).encrypt(
            nonce, plaintext.encode("utf-8"), _aad(self._current.key_id, context)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{FORMAT_VERSION}:{self._current.key_id}:{body}"

    def decrypt(self, token: str, *, context: str) -> str:
        version, key_id, body = _split(token)
        if version != FORMAT_VERSION:
            raise DecryptionError(f"unknown encrypted-value format {version!r}")
        key = self._by_id.get(key_id)
        if key is None:
            raise DecryptionError(
                f"value was encrypted with key {key_id}, which is not configured in {ENV_VAR}"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError as exc:
            raise DecryptionError("encrypted value is not valid base64") from exc
        if len(raw) < _NONCE_BYTES + 16:
            raise DecryptionError("encrypted value is too short")
        try:
            plain = AESGCM(key.key).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(key_id, context)
            )
        except InvalidTag as exc:
            raise DecryptionError("encrypted value failed authentication") from exc
        return plain.decode("utf-8")

    def key_id_of(self, token: str) -> str:
        return _split(token)[1]

    def needs_rotation(self, token: str) -> bool:
        """Whether the value was encrypted under an older key than the current one."""
        return self.key_id_of(token) != self._current.key_id


def _aad(key_id: str, context: str) -> bytes:
    return f"giving:{FORMAT_VERSION}:{key_id}:{context}".encode()


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(":", 2)
    if len(parts) != 3:
        raise DecryptionError("not an encrypted value")
    return parts[0], parts[1], parts[2]


# --- where the secrets come from -----------------------------------------------------------


def local_secret(instance_path: Path) -> str:
    """The development secret in ``instance/data-key``, created (0600) on first use.

    Several workers start at once on a fresh instance folder: the key is written whole
    under a temporary name and then hard-linked into place, which fails if another process
    linked its own first, so every process sees no key or the whole key (never a file
    created but not yet written) and all of them use the first one.
    """
    path = instance_path / LOCAL_KEY_FILE
    existing = _stored_secret(path)
    if existing is not None:
        return existing
    instance_path.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    descriptor, temporary = tempfile.mkstemp(dir=instance_path, prefix=".data-key-")  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secret + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            # Another process linked its key first; use theirs so both agree.
            theirs = _stored_secret(path)
            assert theirs is not None
            return theirs
    finally:
        os.unlink(temporary)
    return secret


def _stored_secret(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    if not text:
        raise ConfigError(
            f"{path} is empty, so it holds no key: delete it and start again (a new key is "
            "made; nothing can have been encrypted with an empty one)"
        )
    return text


def cipher_from_environment(
    environ: Mapping[str, str], *, instance_path: Path, is_production: bool
) -> FieldCipher:
    """The cipher the running app uses: ``GIVING_DATA_KEY`` or the local development key."""
    require_data_key_in_production(environ, is_production=is_production)
    configured = parse_secrets(environ.get(ENV_VAR, ""))
    if configured:
        return FieldCipher.from_secrets(configured)
    return FieldCipher.from_secrets([local_secret(instance_path)])
