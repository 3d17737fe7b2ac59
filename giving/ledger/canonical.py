"""The public leaf record of a ledger entry and its canonical bytes (the Merkle leaf input).

A leaf is the entry's public record as RFC 8785 (JCS) canonical JSON in UTF-8, so anyone can
rebuild the exact bytes from an export and recompute its hash. Only integers, strings,
booleans, null, arrays and objects appear in a leaf: never floats, so the number rules of
JCS reduce to plain decimal integers, which keeps independent verifiers simple.
See docs/ledger-format.md for the normative description.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, TypeAlias

import rfc8785

from giving.ledger.merkle import HASH_SIZE, leaf_hash

JsonValue: TypeAlias = "bool | int | str | list[JsonValue] | dict[str, JsonValue] | None"

LEAF_FORMAT_VERSION = 1
"""Value of the `v` field; bumped only with a documented, versioned change of the format."""

GENESIS_CHAIN_HASH = bytes(HASH_SIZE)
"""The `previous` chain hash of entry seq 0: 32 zero bytes."""

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""`occurred_at` is always UTC with exactly six fractional digits, e.g. 2024-05-01T08:00:00.000000Z.

One fixed width means the text is a pure function of the stored microsecond timestamp (no
choice about trimming zeros) and sorts the same way as the instants it names.
"""

MAX_SAFE_INTEGER = 2**53 - 1
"""JCS serialises numbers as IEEE 754 doubles; integers beyond this are refused, not rounded."""

_TIMESTAMP_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_KIND = re.compile(r"[a-z][a-z0-9_]*")


class LeafRecordError(ValueError):
    """A value cannot go into a leaf record (wrong type, unbalanced postings, bad digest...)."""


class Posting(NamedTuple):
    """One line of an entry: debit positive, credit negative, in the currency's minor unit."""

    account: str
    amount: int
    currency: str


def canonical_json(obj: JsonValue) -> bytes:
    """Return the RFC 8785 canonical JSON encoding of `obj` as UTF-8 bytes."""
    return rfc8785.dumps(obj)


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime in the leaf's fixed UTC form.

    Naive datetimes are refused rather than guessed at: a wrong zone would silently change a
    public, signed record. (SQLite drivers return naive values; attach UTC before calling.)
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise LeafRecordError(f"occurred_at must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse the leaf's timestamp form back into an aware UTC datetime."""
    if not _TIMESTAMP_PATTERN.fullmatch(text):
        raise LeafRecordError(f"timestamp {text!r} is not in the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def leaf_record(
    *,
    seq: int,
    campaign: str | None,
    kind: str,
    occurred_at: datetime,
    postings: Iterable[Posting | tuple[str, int, str]],
    ref: str | None = None,
    memo: str = "",
    reverses: int | None = None,
    evidence: Iterable[str] = (),
    donor_commitment: str | None = None,
) -> dict[str, JsonValue]:
    """Build the public leaf record of an entry, validated and in canonical field order.

    Postings are sorted by account, then currency, then amount, and evidence digests are
    sorted, so the record depends only on the entry's content and not on row order in the
    database. Postings must balance per currency; a leaf that could not be sealed is refused.
    """
    _check_seq(seq)
    return {
        "v": LEAF_FORMAT_VERSION,
        "seq": seq,
        "campaign": _optional_text(campaign, "campaign"),
        "kind": _checked_kind(kind),
        "occurred_at": format_timestamp(occurred_at),
        "postings": _postings_json(postings),
        "ref": _optional_text(ref, "ref"),
        "memo": _text(memo, "memo"),
        "reverses": _checked_reverses(reverses, seq),
        "evidence": _evidence_json(evidence),
        "donor_commitment": _checked_commitment(donor_commitment),
    }


def leaf_input(record: Mapping[str, JsonValue]) -> bytes:
    """Return the Merkle leaf input of a record: its canonical JSON bytes."""
    return canonical_json(dict(record))


def record_leaf_hash(record: Mapping[str, JsonValue]) -> bytes:
    """Return the RFC 9162 leaf hash of a record, SHA-256(0x00 || canonical JSON)."""
    return leaf_hash(leaf_input(record))


def chain_hash(previous: bytes, hash_of_leaf: bytes) -> bytes:
    """Return SHA-256(previous || leaf hash), linking each sealed entry to the one before.

    Stored under a UNIQUE constraint on `previous`, it makes a fork of the log impossible to
    insert; `previous` is GENESIS_CHAIN_HASH for seq 0.
    """
    if len(previous) != HASH_SIZE or len(hash_of_leaf) != HASH_SIZE:
        raise ValueError(f"chain hash inputs must be {HASH_SIZE} bytes each")
    return hashlib.sha256(previous + hash_of_leaf).digest()


# --------------------------------------------------------------------------- field checks


def _check_safe_integer(value: object, what: str) -> int:
    # bool is a subclass of int in Python, but true is not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int):
        raise LeafRecordError(f"{what} must be an integer, got {value!r}")
    if abs(value) > MAX_SAFE_INTEGER:
        raise LeafRecordError(f"{what} {value} is outside the JSON safe integer range")
    return value


def _check_seq(seq: int) -> None:
    if _check_safe_integer(seq, "seq") < 0:
        raise LeafRecordError(f"seq must not be negative, got {seq}")


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise LeafRecordError(f"{what} must be a string, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise LeafRecordError(f"{what} is not valid Unicode text") from error
    return value


def _optional_text(value: object, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _checked_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise LeafRecordError(f"kind must be a lower-case word like 'donation', got {kind!r}")
    return kind


def _checked_reverses(reverses: int | None, seq: int) -> int | None:
    if reverses is None:
        return None
    value = _check_safe_integer(reverses, "reverses")
    if not 0 <= value < seq:
        raise LeafRecordError(f"entry {seq} can only reverse an earlier entry, not {value}")
    return value


def _checked_commitment(commitment: str | None) -> str | None:
    if commitment is not None and not (
        isinstance(commitment, str) and _SHA256_HEX.fullmatch(commitment)
    ):
        raise LeafRecordError("donor_commitment must be 64 lower-case hex digits or None")
    return commitment


def _evidence_json(evidence: Iterable[str]) -> list[JsonValue]:
    digests = list(evidence)
    for digest in digests:
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise LeafRecordError(f"evidence digest {digest!r} is not 64 lower-case hex digits")
    return [*sorted(digests)]


def _postings_json(postings: Iterable[Posting | tuple[str, int, str]]) -> list[JsonValue]:
    checked = [_checked_posting(posting) for posting in postings]
    if not checked:
        raise LeafRecordError("an entry needs at least one posting")
    _check_balanced(checked)
    checked.sort(key=lambda p: (p.account, p.currency, p.amount))
    return [{"account": p.account, "amount": p.amount, "currency": p.currency} for p in checked]


def _checked_posting(posting: Posting | tuple[str, int, str]) -> Posting:
    if len(posting) != 3:
        raise LeafRecordError(f"a posting is (account, amount, currency), got {posting!r}")
    account, amount, currency = posting
    if not _text(account, "posting account"):
        raise LeafRecordError("posting account must not be empty")
    _check_safe_integer(amount, f"amount of posting to {account}")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise LeafRecordError(f"currency must be an ISO 4217 code like 'CNY', got {currency!r}")
    return Posting(account, amount, currency)


def _check_balanced(postings: Sequence[Posting]) -> None:
    totals: dict[str, int] = {}
    for posting in postings:
        totals[posting.currency] = totals.get(posting.currency, 0) + posting.amount
    unbalanced = {currency: total for currency, total in totals.items() if total}
    if unbalanced:
        detail = ", ".join(f"{c} {t:+d}" for c, t in sorted(unbalanced.items()))
        raise LeafRecordError(f"postings do not sum to zero per currency: {detail}")
