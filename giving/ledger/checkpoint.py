"""Signed checkpoints of the ledger: Ed25519 keys, C2SP signed notes and tlog checkpoints.

A checkpoint commits the platform to (tree size, root hash) in the text format of C2SP
`tlog-checkpoint`, signed as a C2SP `signed-note`, so that existing transparency-log tooling
(and the standalone verifier in tools/) can check it. Pure and database-free.

    <origin>\\n<tree size>\\n<base64 root hash>\\n
    \\n
    — <key name> <base64(4-byte key ID || 64-byte Ed25519 signature)>\\n
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from giving.ledger.merkle import HASH_SIZE

ALG_ED25519 = 0x01
"""Signature-type byte of Ed25519 in C2SP signed-note key IDs and vkeys."""

SIGNATURE_LINE_PREFIX = "\u2014 "
"""Each signature line starts with an em dash (U+2014) and a space."""

MAX_SIGNATURES = 100
"""Notes with more signature lines are rejected, as the Go reference implementation does."""

_KEY_ID_SIZE = 4
_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")


class CheckpointError(ValueError):
    """A checkpoint, note, vkey or signature is malformed or does not verify."""


class SigningKeyError(ValueError):
    """A signing key file is missing, unreadable, or not an Ed25519 private key."""


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: who claims to have signed, and the raw signature bytes."""

    key_name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """Render as a signed-note signature line, ending in a newline."""
        payload = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{SIGNATURE_LINE_PREFIX}{self.key_name} {payload}\n"


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 public key as published in vkey form (`name+keyid+base64key`)."""

    name: str
    key_id: bytes
    public_key: bytes

    def to_text(self) -> str:
        """Return the vkey text `<name>+<hex key ID>+<base64(0x01 || public key)>`."""
        encoded = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verifies(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's Ed25519 signature of `message`."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint; `body` is the exact signed text (origin line to last body line)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...]
    signatures: tuple[NoteSignature, ...]
    body: str


# --------------------------------------------------------------------------- keys


def generate_signing_key() -> Ed25519PrivateKey:
    """Return a fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def signing_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """Return the Ed25519 key for a 32-byte seed; used for published test vectors only."""
    if len(seed) != _PUBLIC_KEY_SIZE:
        raise SigningKeyError(f"an Ed25519 seed is {_PUBLIC_KEY_SIZE} bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def save_private_key(key: Ed25519PrivateKey, path: Path, *, overwrite: bool = False) -> None:
    """Write `key` as unencrypted PKCS#8 PEM readable only by its owner (mode 0600).

    Refuses to replace an existing file unless asked: losing the signing key would orphan
    every checkpoint already published under it.
    """
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError as error:
        raise SigningKeyError(f"{path} already exists; not overwriting a signing key") from error
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # O_CREAT's mode does not apply to an existing file
        handle.write(pem)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key from an unencrypted PEM file."""
    try:
        pem = Path(path).read_bytes()
    except OSError as error:
        raise SigningKeyError(f"cannot read signing key {path}: {error.strerror}") from error
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """Return the raw 32-byte Ed25519 public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_key_name(name: str) -> str:
    """Return `name` if it is a valid signed-note key name: non-empty, no spaces, no '+'."""
    if not name or "+" in name or any(ch.isspace() or ord(ch) < 0x20 for ch in name):
        raise CheckpointError(f"key name {name!r} must be non-empty without spaces or '+'")
    return name


def key_id(key_name: str, public_key: bytes) -> bytes:
    """Return the C2SP signed-note key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    check_key_name(key_name)
    if len(public_key) != _PUBLIC_KEY_SIZE:
        raise CheckpointError(f"an Ed25519 public key is {_PUBLIC_KEY_SIZE} bytes")
    material = key_name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:_KEY_ID_SIZE]


def verifier_key(key_name: str, key: Ed25519PrivateKey | Ed25519PublicKey) -> VerifierKey:
    """Return the publishable verifier key for `key` under `key_name`."""
    raw = public_key_bytes(key)
    return VerifierKey(key_name, key_id(key_name, raw), raw)


def format_vkey(key_name: str, key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Return the vkey text for `key`, the form the platform publishes beside checkpoints."""
    return verifier_key(key_name, key).to_text()


def parse_vkey(text: str) -> VerifierKey:
    """Parse `<name>+<hex key ID>+<base64(0x01 || key)>`, checking the key ID matches."""
    name, sep1, rest = text.strip().partition("+")
    hex_id, sep2, encoded = rest.partition("+")
    if not (sep1 and sep2) or not _HEX_KEY_ID.fullmatch(hex_id):
        raise CheckpointError("vkey must look like <name>+<8 hex digits>+<base64 key>")
    check_key_name(name)
    decoded = _strict_b64decode(encoded, "vkey")
    if len(decoded) != 1 + _PUBLIC_KEY_SIZE or decoded[0] != ALG_ED25519:
        raise CheckpointError("vkey is not an Ed25519 key (algorithm byte 0x01 + 32 bytes)")
    public_key = decoded[1:]
    if key_id(name, public_key) != bytes.fromhex(hex_id):
        raise CheckpointError("vkey key ID does not match its name and public key")
    return VerifierKey(name, bytes.fromhex(hex_id), public_key)


# --------------------------------------------------------------------------- checkpoints


def checkpoint_body(origin: str, size: int, root_hash: bytes) -> str:
    """Return the unsigned tlog-checkpoint body: origin, decimal size, base64 root, each + \\n."""
    _check_origin(origin)
    if size < 0 or size >= 1 << 64:
        raise CheckpointError(f"tree size {size} is not an unsigned 64-bit integer")
    if len(root_hash) != HASH_SIZE:
        raise CheckpointError(f"root hash must be {HASH_SIZE} bytes")
    return f"{origin}\n{size}\n{base64.b64encode(root_hash).decode('ascii')}\n"


def sign_note(body: str, key: Ed25519PrivateKey, key_name: str) -> str:
    """Sign a note body (ending in one newline) and return body, blank line, signature line."""
    _check_note_text(body)
    signer = verifier_key(key_name, key)
    signature = NoteSignature(key_name, signer.key_id, key.sign(body.encode("utf-8")))
    return f"{body}\n{signature.line()}"


def sign_checkpoint(
    origin: str, size: int, root: bytes, key: Ed25519PrivateKey, key_name: str
) -> str:
    """Return the signed checkpoint note for (size, root) of the log named `origin`."""
    return sign_note(checkpoint_body(origin, size, root), key, key_name)


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Parse a signed checkpoint note without checking signatures."""
    body, signatures = _split_note(_note_text(text))
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint body needs origin, tree size and root hash lines")
    origin, size_text, root_text, *extensions = lines
    _check_origin(origin)
    if not _TREE_SIZE.fullmatch(size_text) or int(size_text) >= 1 << 64:
        raise CheckpointError(f"checkpoint tree size {size_text!r} is not a decimal uint64")
    root_hash = _strict_b64decode(root_text, "checkpoint root hash")
    if len(root_hash) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root hash is {len(root_hash)} bytes, not {HASH_SIZE}")
    return Checkpoint(origin, int(size_text), root_hash, tuple(extensions), signatures, body)


def verify_note(text: str | bytes, vkey: str | VerifierKey) -> str:
    """Require a valid signature by `vkey` on a signed note and return its body.

    Signatures by other keys are ignored, as signed-note allows (witnesses may cosign), but
    any signature line that claims to be `vkey` and fails makes the whole note invalid.
    """
    verifier = parse_vkey(vkey) if isinstance(vkey, str) else vkey
    body, signatures = _split_note(_note_text(text))
    claimed = [
        sig for sig in signatures if sig.key_name == verifier.name and sig.key_id == verifier.key_id
    ]
    if not claimed:
        raise CheckpointError(f"note has no signature by key {verifier.name}")
    message = body.encode("utf-8")
    for sig in claimed:
        if len(sig.signature) != _ED25519_SIGNATURE_SIZE or not verifier.verifies(
            message, sig.signature
        ):
            raise CheckpointError(f"bad signature by key {verifier.name}")
    return body


def verify_checkpoint(
    text: str | bytes, vkey: str | VerifierKey, *, origin: str | None = None
) -> Checkpoint:
    """Parse a checkpoint, requiring a valid signature by `vkey` (and `origin`, if given)."""
    verify_note(text, vkey)
    checkpoint = parse_checkpoint(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint


# --------------------------------------------------------------------------- note syntax


def _note_text(text: str | bytes) -> str:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CheckpointError("note is not valid UTF-8") from error
    return text


def _check_note_text(text: str) -> None:
    """Signed-note text: non-empty, ends in \\n, no blank line, no control chars but \\n."""
    if not text.endswith("\n") or text.startswith("\n") or "\n\n" in text:
        raise CheckpointError("note text must be non-empty lines each ending in a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise CheckpointError("note text must not contain control characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CheckpointError("note text is not valid Unicode") from error


def _check_origin(origin: str) -> None:
    if not origin or origin != origin.strip() or any(ord(ch) < 0x20 for ch in origin):
        raise CheckpointError(f"origin {origin!r} must be a non-empty single line")


def _split_note(note: str) -> tuple[str, tuple[NoteSignature, ...]]:
    """Split a note at its last blank line into body text and parsed signature lines."""
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures")
    body, signature_block = note[: split + 1], note[split + 2 :]
    _check_note_text(body)
    if not signature_block.endswith("\n"):
        raise CheckpointError("note must end with a newline after its last signature")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has more than {MAX_SIGNATURES} signatures")
    return body, tuple(_parse_signature_line(line) for line in lines)


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_LINE_PREFIX):
        raise CheckpointError(f"signature line must start with an em dash: {line!r:.60}")
    name, space, encoded = line[len(SIGNATURE_LINE_PREFIX) :].rpartition(" ")
    if not space:
        raise CheckpointError("signature line needs a key name and a signature")
    check_key_name(name)
    payload = _strict_b64decode(encoded, "signature")
    if len(payload) < _KEY_ID_SIZE + 1:
        raise CheckpointError("signature is too short to hold a key ID and a signature")
    return NoteSignature(name, payload[:_KEY_ID_SIZE], payload[_KEY_ID_SIZE:])


def _strict_b64decode(text: str, what: str) -> bytes:
    """Decode standard padded base64, refusing any other spelling of the same bytes."""
    try:
        decoded = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as error:
        raise CheckpointError(f"{what} is not valid base64") from error
    if base64.b64encode(decoded).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return decoded
