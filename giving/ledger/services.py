"""Ledger operations for the rest of Giving: append an entry, make a signed checkpoint.

``append_entry`` is the request-scoped path: it seals one entry inside the caller's
transaction, so a donation record and its ledger entry commit or roll back together. Under
heavy concurrent load the batch sealer (giving/ledger/sealer.py) shares one commit among many
entries; both end in giving/ledger/sealing.py and obey the same rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from giving.ledger.canonical import Posting
from giving.ledger.checkpoint import parse_checkpoint, sign_checkpoint, verifier_key
from giving.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerPosting
from giving.ledger.rules import draft_entry
from giving.ledger.sealing import seal
from giving.ledger.tree import load_frontier, log_size

__all__ = ["Posting", "append_entry", "latest_checkpoint", "make_checkpoint"]


def append_entry(
    session: Session,
    *,
    campaign: str,
    kind: str,
    postings: Sequence[Posting | tuple[Any, Any, Any]],
    occurred_at: dt.datetime,
    ref: str | None = None,
    memo: str = "",
    reverses: int | None = None,
    evidence: Iterable[str] = (),
    donor_commitment: str | None = None,
) -> LedgerEntry:
    """Seal one entry in the caller's transaction and return it (flushed, not committed).

    Refuses, with an InvalidEntry naming the problem and writing nothing: non-integer
    amounts (bool, float, Decimal and str included), zero amounts, postings that do not sum to
    zero per currency, unknown currencies, accounts or kinds, postings that do not fit the
    kind (giving/ledger/rules.py), an unknown campaign, a reversal of an unknown or already
    reversed entry or one that does not exactly negate it, refunds and disputes beyond what
    remains of their donation, and disbursements beyond the campaign's available money.
    A ``ref`` already recorded returns that entry instead (RefConflict if its contents differ).
    """
    draft = draft_entry(
        campaign=campaign,
        kind=kind,
        postings=postings,
        occurred_at=occurred_at,
        ref=ref,
        memo=memo,
        reverses=reverses,
        evidence=evidence,
        donor_commitment=donor_commitment,
    )
    (result,) = seal(session, [draft])
    if result.error is not None:
        raise result.error
    assert result.seq is not None
    if result.row is None:  # an earlier entry with this ref
        entry = session.get(LedgerEntry, result.seq)
        assert entry is not None
        return entry
    return _attached(session, result.row, draft.postings)


def _attached(session: Session, row: dict[str, Any], postings: Sequence[Posting]) -> LedgerEntry:
    """The ORM object of a row just inserted, without reading it back under the lock.

    The ledger lock is held until the caller commits, so two SELECTs saved here are saved
    for every concurrent writer waiting on it.
    """
    entry = LedgerEntry(**row)
    make_transient_to_detached(entry)
    session.add(entry)
    lines = [
        LedgerPosting(
            entry_seq=entry.seq, line=n, account=p.account, amount=p.amount, currency=p.currency
        )
        for n, p in enumerate(postings)
    ]
    set_committed_value(entry, "postings", lines)
    return entry


def make_checkpoint(
    session: Session, key: Ed25519PrivateKey, *, origin: str, key_name: str | None = None
) -> LedgerCheckpoint:
    """Sign (size, root) of the ledger as it stands and store the note; returns the row.

    No lock is needed: the size is read in one statement, and every stored hash the root
    depends on was committed with or before the entry that made that size.
    """
    size = log_size(session)
    root = load_frontier(session, size).root()
    name = key_name or origin
    note = sign_checkpoint(origin, size, root, key, name)
    checkpoint = LedgerCheckpoint(
        tree_size=size,
        root=root,
        note=note,
        origin=origin,
        key_name=name,
        key_id=verifier_key(name, key).key_id,
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def signed_under(checkpoint: LedgerCheckpoint) -> tuple[str, str]:
    """(origin, key name) a checkpoint was signed under: stored beside it, or for checkpoints
    from before migration 0010, as its note states them (the first signature is Giving's)."""
    if checkpoint.origin is not None and checkpoint.key_name is not None:
        return checkpoint.origin, checkpoint.key_name
    note = parse_checkpoint(checkpoint.note)
    return note.origin, note.signatures[0].key_name


def latest_checkpoint(
    session: Session, *, signed_as: tuple[str, Ed25519PrivateKey] | None = None
) -> LedgerCheckpoint | None:
    """The most recent stored checkpoint (largest tree, then newest).

    With ``signed_as=(origin, key)``, only one signed under that origin by that key: what a
    receipt, report or export may reuse beside the verifier key it publishes now.
    """
    statement = sa.select(LedgerCheckpoint)
    if signed_as is not None:
        origin, key = signed_as
        statement = statement.where(
            LedgerCheckpoint.origin == origin,
            LedgerCheckpoint.key_id == verifier_key(origin, key).key_id,
        )
    return session.scalar(
        statement.order_by(LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc()).limit(1)
    )
