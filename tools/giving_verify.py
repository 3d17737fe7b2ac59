#!/usr/bin/env python3
"""Standalone verifier for Giving ledger exports, inclusion proofs and consistency proofs.

Needs only the Python standard library (3.11+) and the `cryptography` package; it does not
import Giving, so an auditor can read it in one sitting and run it anywhere. It follows
docs/ledger-format.md: RFC 8785 canonical JSON leaves, RFC 9162 Merkle trees, C2SP signed-note
checkpoints with Ed25519.

    giving_verify.py export LEDGER.jsonl --checkpoint CHECKPOINT.txt --key VKEY
    giving_verify.py export CAMPAIGN.jsonl --checkpoint C.txt --key VKEY [--campaign ID]
    giving_verify.py export CAMPAIGN.jsonl --campaign-export --checkpoint C.txt --key VKEY
    giving_verify.py inclusion --leaf-hash H --index I --size N --proof h1,h2 --root R
    giving_verify.py inclusion --leaf LEAF.json --index I --proof h1,h2 --checkpoint C --key K
    giving_verify.py consistency --old-size M --new-size N --old-root R1 --new-root R2 --proof ..
    giving_verify.py consistency --old-checkpoint C1 --new-checkpoint C2 --key K --proof ...

VKEY is the vkey text (`name+keyid+base64`) or a file containing it. `export` recognises
which export it was given: a per-campaign export's lines carry inclusion proofs (and its seqs
have gaps), a full export's do not; `--campaign-export` insists on the per-campaign reading.
Exit status: 0 when everything holds; 1 when something does not (the first problem is printed,
naming the seq, e.g. "seq 17: leaf hash mismatch"); 2 for usage errors or unreadable input.

The canonicaliser below implements RFC 8785 only for the values leaves contain: objects with
string keys, arrays, strings, integers, booleans and null. Leaves never contain floats, so a
float (or NaN/Infinity) anywhere in the input is reported as an error, not canonicalised.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
GENESIS_CHAIN_HASH = bytes(HASH_SIZE)
MAX_SAFE_INTEGER = 2**53 - 1
LEAF_FIELDS = frozenset(
    {
        "v",
        "seq",
        "campaign",
        "kind",
        "occurred_at",
        "postings",
        "ref",
        "memo",
        "reverses",
        "evidence",
        "donor_commitment",
    }
)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
CURRENCY = re.compile(r"[A-Z]{3}")
EM_DASH_PREFIX = "\u2014 "
ALG_ED25519 = 0x01


class Failure(Exception):
    """Something does not verify; the message names the first bad seq or object (exit 1)."""


class UsageError(Exception):
    """The command line or an input file is unusable (exit 2)."""


# --------------------------------------------------------------------------- strict JSON


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python keeps the last of duplicate keys silently; a verifier must not guess.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_float(text: str) -> NoReturn:
    raise ValueError(f"number {text} is not an integer (leaves never contain floats)")


def _reject_constant(text: str) -> NoReturn:
    raise ValueError(f"{text} is not JSON")


def strict_json(text: str) -> Any:
    """Parse JSON refusing duplicate keys, floats, NaN and Infinity."""
    return json.loads(
        text,
        object_pairs_hook=_reject_duplicates,
        parse_float=_reject_float,
        parse_constant=_reject_constant,
    )


# --------------------------------------------------------------------------- RFC 8785 subset

_STRING_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


class CanonicalError(ValueError):
    """The value is outside the JSON subset that leaves use."""


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a leaf-shaped value."""
    try:
        return "".join(_canonical_parts(value)).encode("utf-8")
    except UnicodeEncodeError as error:
        raise CanonicalError("string contains a lone surrogate, not valid Unicode") from error


def _canonical_parts(value: Any) -> Iterator[str]:
    if value is None:
        yield "null"
    elif value is True:
        yield "true"
    elif value is False:
        yield "false"
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer {value} is outside the JSON safe range")
        yield str(value)  # integers in the safe range print the same as ECMAScript numbers
    elif isinstance(value, str):
        yield _canonical_string(value)
    elif isinstance(value, list | tuple):
        yield "["
        for position, item in enumerate(value):
            yield "," if position else ""
            yield from _canonical_parts(item)
        yield "]"
    elif isinstance(value, dict):
        yield from _canonical_object(value)
    else:
        raise CanonicalError(f"{type(value).__name__} values never occur in a leaf")


def _canonical_object(value: dict[Any, Any]) -> Iterator[str]:
    if not all(isinstance(key, str) for key in value):
        raise CanonicalError("object keys must be strings")
    # RFC 8785 §3.2.3: sort keys by their UTF-16 code units (big-endian bytes compare alike).
    keys = sorted(value, key=lambda key: key.encode("utf-16-be", "surrogatepass"))
    yield "{"
    for position, key in enumerate(keys):
        yield "," if position else ""
        yield _canonical_string(key)
        yield ":"
        yield from _canonical_parts(value[key])
    yield "}"


def _canonical_string(text: str) -> str:
    # RFC 8785 §3.2.2.2: escape only '"', '\\' and C0 controls; all else is literal UTF-8.
    escaped = (_STRING_ESCAPES.get(ch) or (f"\\u{ord(ch):04x}" if ch < " " else ch) for ch in text)
    return '"' + "".join(escaped) + '"'


# --------------------------------------------------------------------------- RFC 9162 Merkle


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || leaf input)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """Perfect-subtree hashes along the right edge; enough to append and to get the root."""

    def __init__(self) -> None:
        self.size = 0
        self.hashes: list[bytes] = []

    def append(self, hash_of_leaf: bytes) -> None:
        self.hashes.append(hash_of_leaf)
        carry = self.size
        while carry & 1:
            right, left = self.hashes.pop(), self.hashes.pop()
            self.hashes.append(node_hash(left, right))
            carry >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            result = node_hash(left, result)
        return result


def verify_inclusion(
    hash_of_leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, result = index, size - 1, hash_of_leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(result, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, plus: equal sizes need equal roots, size 0 needs the empty root."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, EMPTY_ROOT)
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if not proof:
        return False
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_hash = new_hash = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old_hash, new_hash = node_hash(node, old_hash), node_hash(node, new_hash)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_hash = node_hash(new_hash, node)
        fn, sn = fn >> 1, sn >> 1
    return (
        sn == 0
        and hmac.compare_digest(old_hash, old_root)
        and hmac.compare_digest(new_hash, new_root)
    )


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class VKey:
    """A signed-note verifier key for Ed25519."""

    name: str
    key_id: bytes
    public_key: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose signature by the given key has been verified."""

    origin: str
    size: int
    root: bytes


def _b64(text: str, what: str) -> bytes:
    try:
        decoded = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise Failure(f"{what}: not valid base64") from None
    if base64.b64encode(decoded).decode("ascii") != text:
        raise Failure(f"{what}: not canonical base64")
    return decoded


def signed_note_key_id(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    material = name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:4]


def parse_vkey(text: str) -> VKey:
    """Parse `<name>+<8 hex>+<base64(0x01 || 32-byte key)>` and check its key ID."""
    name, _, rest = text.strip().partition("+")
    hex_id, _, encoded = rest.partition("+")
    if not name or not re.fullmatch(r"[0-9a-f]{8}", hex_id) or any(c.isspace() for c in name):
        raise UsageError("key: expected a vkey like name+1a2b3c4d+AbC...=")
    try:
        raw = _b64(encoded, "key")
    except Failure as failure:
        raise UsageError(str(failure)) from None
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise UsageError("key: not an Ed25519 vkey (algorithm byte 0x01 + 32 bytes)")
    if signed_note_key_id(name, raw[1:]).hex() != hex_id:
        raise UsageError("key: key ID does not match the key name and public key")
    return VKey(name, bytes.fromhex(hex_id), raw[1:])


def verify_checkpoint(text: str, key: VKey) -> Checkpoint:
    """Check signed-note syntax, the Ed25519 signature by `key`, and the checkpoint body."""
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise Failure("checkpoint: malformed note (no blank line before signatures)")
    body, signature_lines = text[: split + 1], text[split + 2 : -1].split("\n")
    if any(ord(c) < 0x20 and c != "\n" for c in text) or body.startswith("\n"):
        raise Failure("checkpoint: malformed note (control character or empty line)")
    _check_signature(body, signature_lines, key)
    return _parse_checkpoint_body(body)


def _check_signature(body: str, lines: list[str], key: VKey) -> None:
    found = False
    for line in lines:
        if not line.startswith(EM_DASH_PREFIX):
            raise Failure("checkpoint: malformed signature line")
        name, _, encoded = line[len(EM_DASH_PREFIX) :].rpartition(" ")
        payload = _b64(encoded, "checkpoint signature")
        if name != key.name or payload[:4] != key.key_id:
            continue  # a cosignature by some other key (e.g. a witness)
        found = True
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(
                payload[4:], body.encode("utf-8")
            )
        except InvalidSignature:
            raise Failure("checkpoint: bad signature") from None
    if not found:
        raise Failure(f"checkpoint: no signature by key {key.name}")


def _parse_checkpoint_body(body: str) -> Checkpoint:
    lines = body[:-1].split("\n")
    if len(lines) < 3 or not lines[0]:
        raise Failure("checkpoint: body needs origin, tree size and root hash lines")
    if not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        raise Failure(f"checkpoint: tree size {lines[1]!r} is not a decimal number")
    root = _b64(lines[2], "checkpoint root hash")
    if len(root) != HASH_SIZE:
        raise Failure("checkpoint: root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)


# --------------------------------------------------------------------------- export lines


def _hex_hash(value: Any, where: str, field: str) -> bytes:
    if not isinstance(value, str) or not SHA256_HEX.fullmatch(value):
        raise Failure(f"{where}: {field} is not 64 lower-case hex digits")
    return bytes.fromhex(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_leaf(seq: int, leaf: Any, claimed_hash: Any) -> bytes:
    """Check a leaf record's shape, hash and postings; return its leaf hash."""
    where = f"seq {seq}"
    if not isinstance(leaf, dict):
        raise Failure(f"{where}: leaf is not a JSON object")
    if set(leaf) != LEAF_FIELDS:
        missing, extra = sorted(LEAF_FIELDS - set(leaf)), sorted(set(leaf) - LEAF_FIELDS)
        raise Failure(f"{where}: leaf fields wrong (missing {missing}, unexpected {extra})")
    if leaf["v"] != 1 or not _is_int(leaf["v"]):
        raise Failure(f"{where}: unknown leaf format version {leaf['v']!r}")
    if leaf["seq"] != seq or not _is_int(leaf["seq"]):
        raise Failure(f"{where}: leaf says seq {leaf['seq']!r}")
    try:
        computed = leaf_hash(canonical_json(leaf))
    except CanonicalError as error:
        raise Failure(f"{where}: leaf cannot be canonicalised ({error})") from None
    if not hmac.compare_digest(computed, _hex_hash(claimed_hash, where, "leaf_hash")):
        raise Failure(f"{where}: leaf hash mismatch")
    _check_leaf_fields(where, leaf)
    return computed


def _check_leaf_fields(where: str, leaf: dict[str, Any]) -> None:
    if not isinstance(leaf["occurred_at"], str) or not TIMESTAMP.fullmatch(leaf["occurred_at"]):
        raise Failure(f"{where}: occurred_at is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    reverses = leaf["reverses"]
    if reverses is not None and not (_is_int(reverses) and 0 <= reverses < leaf["seq"]):
        raise Failure(f"{where}: reverses {reverses!r} is not an earlier seq")
    evidence = leaf["evidence"]
    if not isinstance(evidence, list) or evidence != sorted(evidence, key=str):
        raise Failure(f"{where}: evidence is not a sorted list")
    for digest in evidence:
        _hex_hash(digest, where, "evidence digest")
    if leaf["donor_commitment"] is not None:
        _hex_hash(leaf["donor_commitment"], where, "donor_commitment")
    _check_postings(where, leaf["postings"])


def _check_postings(where: str, postings: Any) -> None:
    if not isinstance(postings, list) or not postings:
        raise Failure(f"{where}: postings must be a non-empty list")
    totals: dict[str, int] = {}
    for posting in postings:
        if (
            not isinstance(posting, dict)
            or set(posting) != {"account", "amount", "currency"}
            or not isinstance(posting["account"], str)
            or not _is_int(posting["amount"])
            or not isinstance(posting["currency"], str)
            or not CURRENCY.fullmatch(posting["currency"])
        ):
            raise Failure(f"{where}: malformed posting {posting!r:.80}")
        totals[posting["currency"]] = totals.get(posting["currency"], 0) + posting["amount"]
    order = [(p["account"], p["currency"], p["amount"]) for p in postings]
    if order != sorted(order):
        raise Failure(f"{where}: postings are not sorted by account, currency, amount")
    unbalanced = {c: t for c, t in totals.items() if t}
    if unbalanced:
        detail = ", ".join(f"{c} {t:+d}" for c, t in sorted(unbalanced.items()))
        raise Failure(f"{where}: postings do not balance ({detail})")


def read_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object) for each line of a JSON-lines export."""
    try:
        handle = path.open(encoding="utf-8", newline="\n")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    raise Failure(f"line {number}: empty line in export")
                try:
                    record = strict_json(text)
                except ValueError as error:
                    raise Failure(f"line {number}: not valid JSON ({error})") from None
                if not isinstance(record, dict) or not _is_int(record.get("seq")):
                    raise Failure(f"line {number}: not an object with an integer seq")
                yield number, record
        except UnicodeDecodeError:
            raise Failure(f"{path}: not UTF-8 text") from None


FULL_EXPORT = "read as a full export (its lines carry no inclusion proofs)"
CAMPAIGN_EXPORT = "read as a per-campaign export (its lines carry inclusion proofs)"


def is_campaign_export(path: Path) -> bool:
    """Whether the export's first line carries an inclusion proof (docs/ledger-format.md
    §6.2): per-campaign exports carry one on every line, full exports (§6.1) on none."""
    for _, record in read_lines(path):
        return "inclusion_proof" in record
    return False


def verify_full_export(path: Path, checkpoint: Checkpoint) -> str:
    """Check every entry from seq 0 and the tree head at the checkpoint's size."""
    frontier, previous = Frontier(), GENESIS_CHAIN_HASH
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        raise Failure("root mismatch at tree size 0")
    for _, record in read_lines(path):
        seq = record["seq"]
        if "inclusion_proof" in record:
            raise Failure(f"seq {seq}: carries an inclusion proof, unlike the first line")
        if seq != frontier.size:
            if seq > frontier.size:
                raise Failure(f"seq {frontier.size}: missing (gap)")
            raise Failure(f"seq {seq}: duplicate or out of order (expected seq {frontier.size})")
        computed = check_leaf(seq, record.get("leaf"), record.get("leaf_hash"))
        chain = hashlib.sha256(previous + computed).digest()
        if not hmac.compare_digest(
            chain, _hex_hash(record.get("chain_hash"), f"seq {seq}", "chain_hash")
        ):
            raise Failure(f"seq {seq}: chain hash mismatch")
        previous = chain
        frontier.append(computed)
        if frontier.size == checkpoint.size and frontier.root() != checkpoint.root:
            raise Failure(f"root mismatch at tree size {checkpoint.size}")
    if frontier.size < checkpoint.size:
        raise Failure(
            f"seq {frontier.size}: missing (export ends before checkpoint size {checkpoint.size})"
        )
    extra = frontier.size - checkpoint.size
    beyond = f"; {extra} later entries are chained but not covered by it" if extra else ""
    return (
        f"OK: {frontier.size} entries verified; tree size {checkpoint.size} root "
        f"{checkpoint.root.hex()} matches the signed checkpoint{beyond}"
    )


def verify_campaign_export(path: Path, checkpoint: Checkpoint, campaign: str | None) -> str:
    """Check each entry of a per-campaign export by its inclusion proof in the checkpoint."""
    last_seq, count = -1, 0
    for _, record in read_lines(path):
        seq, where = record["seq"], f"seq {record['seq']}"
        if seq <= last_seq:
            raise Failure(f"{where}: duplicate or out of order (after seq {last_seq})")
        computed = check_leaf(seq, record.get("leaf"), record.get("leaf_hash"))
        campaign = _check_campaign(where, record["leaf"]["campaign"], campaign)
        if record.get("tree_size") != checkpoint.size:
            raise Failure(
                f"{where}: proof is for tree size {record.get('tree_size')!r}, "
                f"checkpoint has size {checkpoint.size}"
            )
        if seq >= checkpoint.size:
            raise Failure(f"{where}: not covered by checkpoint of size {checkpoint.size}")
        proof = record.get("inclusion_proof")
        if not isinstance(proof, list):
            raise Failure(f"{where}: inclusion_proof is not a list")
        hashes = [_hex_hash(node, where, "inclusion_proof entry") for node in proof]
        if not verify_inclusion(computed, seq, checkpoint.size, hashes, checkpoint.root):
            raise Failure(f"{where}: inclusion proof does not match checkpoint root")
        last_seq, count = seq, count + 1
    return (
        f"OK: {count} entries of campaign {campaign!r} are in the signed tree of size "
        f"{checkpoint.size} (completeness needs the full export)"
    )


def _check_campaign(where: str, found: Any, expected: str | None) -> str:
    if not isinstance(found, str):
        raise Failure(f"{where}: leaf has no campaign")
    if expected is not None and found != expected:
        raise Failure(f"{where}: belongs to campaign {found!r}, not {expected!r}")
    return found


# --------------------------------------------------------------------------- command line


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {what} {path}: {error}") from None


def _load_key(value: str) -> VKey:
    """Accept the vkey text itself or the name of a file holding it."""
    if "+" not in value or Path(value).is_file():
        value = _read_text(value, "key file")
    return parse_vkey(value)


def _load_checkpoint(path: str, key_arg: str | None) -> Checkpoint:
    if key_arg is None:
        raise UsageError("--key is required with a checkpoint")
    key = _load_key(key_arg)
    return verify_checkpoint(_read_text(path, "checkpoint"), key)


def _arg_hash(value: str, option: str) -> bytes:
    if not SHA256_HEX.fullmatch(value.strip().lower()):
        raise UsageError(f"{option}: expected 64 hex digits")
    return bytes.fromhex(value.strip())


def _arg_proof(value: str) -> list[bytes]:
    return [_arg_hash(part, "--proof") for part in value.split(",") if part.strip()]


def run_export(args: argparse.Namespace) -> str:
    checkpoint = _load_checkpoint(args.checkpoint, args.key)
    if args.origin is not None and checkpoint.origin != args.origin:
        raise Failure(f"checkpoint: origin {checkpoint.origin!r} is not {args.origin!r}")
    path = Path(args.ledger)
    if not path.is_file():
        raise UsageError(f"cannot read {path}: no such file")
    if args.campaign_export:
        return verify_campaign_export(path, checkpoint, args.campaign)
    campaign = is_campaign_export(path)
    how = CAMPAIGN_EXPORT if campaign else FULL_EXPORT
    try:
        if campaign:
            result = verify_campaign_export(path, checkpoint, args.campaign)
        else:
            result = verify_full_export(path, checkpoint)
    except Failure as failure:
        raise Failure(f"{failure}; {how}") from None
    return f"{result}; {how}"


def _leaf_hash_argument(args: argparse.Namespace) -> bytes:
    if args.leaf_hash is not None:
        return _arg_hash(args.leaf_hash, "--leaf-hash")
    try:
        leaf = strict_json(_read_text(args.leaf, "leaf"))
        return leaf_hash(canonical_json(leaf))
    except ValueError as error:  # includes CanonicalError
        raise UsageError(f"--leaf: {error}") from None


def run_inclusion(args: argparse.Namespace) -> str:
    hash_of_leaf = _leaf_hash_argument(args)
    if args.checkpoint is not None:
        checkpoint = _load_checkpoint(args.checkpoint, args.key)
        if args.size is not None and args.size != checkpoint.size:
            raise Failure(f"checkpoint has tree size {checkpoint.size}, not {args.size}")
        size, root = checkpoint.size, checkpoint.root
    elif args.root is not None and args.size is not None:
        size, root = args.size, _arg_hash(args.root, "--root")
    else:
        raise UsageError("give --size and --root, or --checkpoint and --key")
    if not verify_inclusion(hash_of_leaf, args.index, size, _arg_proof(args.proof), root):
        raise Failure(f"seq {args.index}: inclusion proof does not match root at tree size {size}")
    return f"OK: leaf {hash_of_leaf.hex()} is entry {args.index} of the tree of size {size}"


def run_consistency(args: argparse.Namespace) -> str:
    if args.old_checkpoint is not None or args.new_checkpoint is not None:
        if args.old_checkpoint is None or args.new_checkpoint is None:
            raise UsageError("give both --old-checkpoint and --new-checkpoint")
        old = _load_checkpoint(args.old_checkpoint, args.key)
        new = _load_checkpoint(args.new_checkpoint, args.key)
    elif None in (args.old_size, args.new_size, args.old_root, args.new_root):
        raise UsageError("give --old-size/--new-size/--old-root/--new-root, or two checkpoints")
    else:
        old = Checkpoint("", args.old_size, _arg_hash(args.old_root, "--old-root"))
        new = Checkpoint("", args.new_size, _arg_hash(args.new_root, "--new-root"))
    if not verify_consistency(old.size, new.size, old.root, new.root, _arg_proof(args.proof)):
        raise Failure(f"tree size {old.size} is not proven a prefix of tree size {new.size}")
    return f"OK: the tree of size {old.size} is a prefix of the tree of size {new.size}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="giving_verify.py", description="Verify Giving ledger exports and proofs offline."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="verify a JSON-lines ledger export")
    export.add_argument("ledger", help="the export, one JSON object per line")
    export.add_argument("--checkpoint", required=True, help="signed checkpoint file")
    export.add_argument("--key", required=True, help="vkey text or a file holding it")
    export.add_argument("--origin", help="require this checkpoint origin")
    export.add_argument(
        "--campaign-export",
        action="store_true",
        help="read it as a per-campaign export (checking each line's inclusion proof instead "
        "of the whole tree) even if it does not look like one; without this flag the kind "
        "of export is recognised from its lines",
    )
    export.add_argument("--campaign", help="for a per-campaign export: require this campaign id")
    export.set_defaults(run=run_export)

    inclusion = commands.add_parser("inclusion", help="verify one inclusion proof")
    leaf = inclusion.add_mutually_exclusive_group(required=True)
    leaf.add_argument("--leaf-hash", help="hex leaf hash")
    leaf.add_argument("--leaf", help="file holding the leaf record as JSON")
    inclusion.add_argument("--index", type=int, required=True, help="the entry's seq")
    inclusion.add_argument("--size", type=int, help="tree size the proof is for")
    inclusion.add_argument("--proof", default="", help="comma-separated hex hashes")
    inclusion.add_argument("--root", help="hex root hash at --size")
    inclusion.add_argument("--checkpoint", help="signed checkpoint giving size and root")
    inclusion.add_argument("--key", help="vkey text or a file holding it")
    inclusion.set_defaults(run=run_inclusion)

    consistency = commands.add_parser("consistency", help="verify one consistency proof")
    consistency.add_argument("--old-size", type=int)
    consistency.add_argument("--new-size", type=int)
    consistency.add_argument("--old-root", help="hex root hash at --old-size")
    consistency.add_argument("--new-root", help="hex root hash at --new-size")
    consistency.add_argument("--old-checkpoint", help="signed checkpoint of the older tree")
    consistency.add_argument("--new-checkpoint", help="signed checkpoint of the newer tree")
    consistency.add_argument("--key", help="vkey text or a file holding it")
    consistency.add_argument("--proof", default="", help="comma-separated hex hashes")
    consistency.set_defaults(run=run_consistency)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        print(args.run(args))
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    except UsageError as error:
        print(f"giving_verify.py: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
