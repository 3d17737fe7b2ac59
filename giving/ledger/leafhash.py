"""Leaf hashes recomputed from stored entry rows, the hot loop of ``giving ledger verify``.

Kept apart from verify.py, with only pure imports, so that verify can hand chunks of rows to
worker processes on a big ledger: rebuilding and hashing a leaf is most of verify's CPU time,
and it is independent per entry (chaining and the tree stay in order in the parent).

The leaf input is serialised by :func:`leaf_input_fast`, the C-accelerated ``json`` encoder
configured so that, for the values canonical.leaf_record admits (ASCII member names,
safe-range integers, valid Unicode strings, null, lists, objects), its output is byte for
byte RFC 8785: no whitespace, members sorted, only ``"``, ``\\`` and C0 controls escaped
(``\\b \\t \\n \\f \\r`` short, the rest ``\\u00xx`` lower-case), everything else literal
UTF-8. tests/ledger/test_verify.py checks the equivalence against the reference encoder on
generated leaves. Entries are sealed with the reference encoder, so a disagreement could
only make verify raise a false alarm, never hide a change.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from giving.ledger.canonical import JsonValue, LeafRecordError, Posting, leaf_record
from giving.ledger.merkle import leaf_hash

LeafRow = tuple[
    int,  # seq
    str | None,  # campaign
    str,  # kind
    dt.datetime,  # occurred_at
    str | None,  # ref
    str,  # memo
    int | None,  # reverses
    Any,  # evidence: a list, or JSON text
    str | None,  # donor_commitment
    Any,  # postings as aggregated by the database: JSON text or a decoded list
]

_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def leaf_input_fast(record: dict[str, JsonValue]) -> bytes:
    """RFC 8785 bytes of a leaf record built by canonical.leaf_record (see module docstring)."""
    return _ENCODER.encode(record).encode("utf-8")


def _json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        return [] if value == "[]" else json.loads(value)
    return value


def postings_of(aggregated: Any) -> list[Posting]:
    """Postings from the per-entry JSON aggregate ``[[account, amount, currency], ...]``."""
    if aggregated is None:
        return []
    lines = _json(aggregated)
    return [Posting(account, amount, currency) for account, amount, currency in lines]


def row_leaf_hash(row: LeafRow) -> bytes | str:
    """The leaf hash the row's contents imply, or a description of why there is none."""
    seq, campaign, kind, occurred_at, ref, memo, reverses, evidence, commitment, lines = row
    postings = postings_of(lines)
    if not postings:
        return f"seq {seq}: has no postings"
    try:
        record = leaf_record(
            seq=seq,
            campaign=campaign,
            kind=kind,
            occurred_at=occurred_at,
            postings=postings,
            ref=ref,
            memo=memo,
            reverses=reverses,
            evidence=_json(evidence),
            donor_commitment=commitment,
        )
        return leaf_hash(leaf_input_fast(record))
    except (LeafRecordError, UnicodeEncodeError, TypeError, ValueError) as exc:
        return f"seq {seq}: {exc}"


def hash_rows(rows: list[LeafRow]) -> list[bytes | str]:
    """:func:`row_leaf_hash` of each row (the unit of work of a verify worker process)."""
    return [row_leaf_hash(row) for row in rows]
