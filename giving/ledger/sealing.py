"""The sequencer's core: check entries against the ledger, number, hash, chain and store them.

Both ways of appending end here: ``append_entry`` seals one draft in the caller's
transaction, and the batch sealer seals up to a few hundred queued drafts in one transaction.
Either way the ledger is locked first (PostgreSQL: a transaction-level advisory lock;
SQLite: the connection's ``BEGIN IMMEDIATE`` already makes it the only writer), so the head
read here is the head the new entries extend, and ``seq`` stays gap-free without forks.

Leaf inputs are serialised with leafhash.leaf_input_fast, the C ``json`` encoder set up to
produce RFC 8785 bytes for leaf records (equivalence is property-tested against the
reference ``rfc8785`` encoder, and every export is checked by the independent verifier in
tools/); it is ten times faster, and the sequencer holds the ledger lock while it runs.

Checks that need the ledger (giving/ledger/checks.py) run against a LedgerView, the database
plus the entries accepted earlier in the same batch, so a batch is validated in memory and
written with a few multi-row INSERTs rather than a round trip per entry. The figures derived
from the entries (giving/ledger/figures.py) are brought up to date in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session

from giving.db import utcnow
from giving.errors import DomainError
from giving.ledger import rules
from giving.ledger.canonical import (
    GENESIS_CHAIN_HASH,
    LeafRecordError,
    chain_hash,
    leaf_record,
)
from giving.ledger.checks import EntryFacts, LedgerView, check_against_ledger
from giving.ledger.errors import InvalidEntry
from giving.ledger.figures import update_figures
from giving.ledger.leafhash import leaf_input_fast
from giving.ledger.merkle import leaf_hash
from giving.ledger.models import LedgerEntry, LedgerNode, LedgerPosting
from giving.ledger.rules import EntryDraft
from giving.ledger.tree import Frontier, load_frontier

# pg_advisory_xact_lock key of the ledger ("giving:L" as a big-endian signed 64-bit integer).
LEDGER_LOCK_KEY = int.from_bytes(b"giving:L", "big")


@dataclass(frozen=True)
class SealResult:
    """A draft's fate: sealed now (``new``), matched an earlier entry by ref, or refused."""

    seq: int | None
    new: bool = False
    error: DomainError | None = None
    row: dict[str, Any] | None = None  # the stored entry row, when ``new``


def lock_ledger(session: Session) -> None:
    """Serialise appends for the rest of the transaction (see module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(LEDGER_LOCK_KEY)))


# ------------------------------------------------------------------------------ sealing


def read_head(session: Session) -> tuple[int, bytes, Frontier]:
    """The log size, the last chain hash and the frontier, in two indexed reads."""
    last = session.execute(
        sa.select(LedgerEntry.seq, LedgerEntry.chain_hash, LedgerEntry.leaf_hash)
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    ).first()
    if last is None:
        return 0, GENESIS_CHAIN_HASH, Frontier(0)
    size = int(last.seq) + 1
    return size, bytes(last.chain_hash), load_frontier(session, size, bytes(last.leaf_hash))


def seal(session: Session, drafts: Sequence[EntryDraft]) -> list[SealResult]:
    """Lock the ledger, check and seal ``drafts`` in order, and write them; return each fate.

    Refused drafts do not stop the others. Nothing is committed here: the caller owns the
    transaction, and the database triggers re-check sequence, chain and balance on insert.
    """
    view = LedgerView(session)
    # Campaigns are never deleted, so their check need not wait for (nor hold) the lock;
    # refs and the head must be read under it.
    view.prefetch_campaigns(drafts)
    lock_ledger(session)
    view.prefetch(drafts)
    _, previous, frontier = read_head(session)
    sealed_at = utcnow()
    entries: list[dict[str, object]] = []
    postings: list[dict[str, object]] = []
    nodes: list[dict[str, object]] = []
    results: list[SealResult] = []
    sealed: list[tuple[int, EntryDraft]] = []
    for draft in drafts:
        try:
            existing = check_against_ledger(view, draft)
        except DomainError as exc:
            results.append(SealResult(None, error=exc))
            continue
        if existing is not None:
            results.append(SealResult(existing))
            continue
        seq = frontier.size
        try:
            record = leaf_record(seq=seq, **rules.leaf_fields(draft))
        except LeafRecordError as exc:  # draft_entry's checks should have caught it
            results.append(
                SealResult(
                    None, error=InvalidEntry(gettext("Cannot publish: %(reason)s", reason=exc))
                )
            )
            continue
        hash_of_leaf = leaf_hash(leaf_input_fast(record))
        chained = chain_hash(previous, hash_of_leaf)
        for node in frontier.append(hash_of_leaf):
            nodes.append({"tree_size": node.tree_size, "height": node.height, "hash": node.hash})
        for line, posting in enumerate(draft.postings):
            postings.append(
                {
                    "entry_seq": seq,
                    "line": line,
                    "account": posting.account,
                    "amount": posting.amount,
                    "currency": posting.currency,
                }
            )
        entries.append(
            {
                "seq": seq,
                "campaign": draft.campaign,
                "kind": draft.kind,
                "occurred_at": draft.occurred_at,
                "ref": draft.ref,
                "memo": draft.memo,
                "reverses": draft.reverses,
                "evidence": list(draft.evidence),
                "donor_commitment": draft.donor_commitment,
                "leaf_hash": hash_of_leaf,
                "chain_hash": chained,
                "prev_chain_hash": previous,
                "sealed_at": sealed_at,
            }
        )
        view.record(
            EntryFacts(seq, draft.campaign, draft.kind, draft.reverses, draft.ref, draft.postings)
        )
        previous = chained
        sealed.append((seq, draft))
        results.append(SealResult(seq, new=True, row=entries[-1]))
    # Postings first: the entry's insert trigger checks that they balance (DESIGN §3).
    if postings:
        session.execute(sa.insert(_table(LedgerPosting)), postings)
        session.execute(sa.insert(_table(LedgerEntry)), entries)
    if nodes:
        session.execute(sa.insert(_table(LedgerNode)), nodes)
    # Same transaction, same lock: a page never sees entries without their figures.
    update_figures(session, view, sealed)
    return results


def _table(model: type[Any]) -> sa.Table:
    """The Core table of a model; Core executemany skips the ORM's per-row bookkeeping."""
    return cast(sa.Table, model.__table__)
