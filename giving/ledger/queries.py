"""Read side of the ledger: entries as published leaf records, pages of them, campaigns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger.canonical import JsonValue, LeafRecordError, Posting, leaf_record
from giving.ledger.models import LedgerEntry, LedgerPosting

STREAM_BATCH = 2000
_INT64_MAX = 2**63 - 1  # the largest seq the BIGINT column holds
_campaigns = sa.table("campaigns", sa.column("public_id", sa.String))


class CorruptEntry(LeafRecordError):
    """A stored entry no longer makes a valid leaf (e.g. its postings were edited to no longer
    balance): the database was changed behind the ledger's back."""

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"seq {seq}: {problem}")
        self.seq = seq
        self.message = f"seq {seq}: {problem}"


@dataclass(frozen=True)
class PublishedEntry:
    """An entry as the public sees it: its leaf record and its hashes."""

    seq: int
    leaf: dict[str, JsonValue]
    leaf_hash: bytes
    chain_hash: bytes

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "seq": self.seq,
            "leaf": self.leaf,
            "leaf_hash": self.leaf_hash.hex(),
            "chain_hash": self.chain_hash.hex(),
        }


def campaign_exists(session: Session, public_id: str) -> bool:
    if "\x00" in public_id:  # no id holds one, and PostgreSQL refuses it in a text parameter
        return False
    found = session.scalar(
        sa.select(_campaigns.c.public_id).where(_campaigns.c.public_id == public_id)
    )
    return found is not None


def _entry_filter(
    campaign: str | None, after_seq: int, before_seq: int | None
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [LedgerEntry.seq > after_seq]
    if before_seq is not None:
        conditions.append(LedgerEntry.seq < before_seq)
    if campaign is not None:
        conditions.append(LedgerEntry.campaign == campaign)
    return conditions


def iter_published(
    session: Session,
    *,
    campaign: str | None = None,
    after_seq: int = -1,
    before_seq: int | None = None,
) -> Iterator[PublishedEntry]:
    """Entries with after_seq < seq < before_seq, in seq order, optionally of one campaign.

    Entries and postings come from two ordered cursors walked side by side, so a full
    export streams in constant memory.
    """
    conditions = _entry_filter(campaign, after_seq, before_seq)
    entries = sa.select(*_table(LedgerEntry).columns).where(*conditions).order_by(LedgerEntry.seq)
    postings = (
        sa.select(
            LedgerPosting.entry_seq,
            LedgerPosting.account,
            LedgerPosting.amount,
            LedgerPosting.currency,
        )
        .join(LedgerEntry, LedgerEntry.seq == LedgerPosting.entry_seq)
        .where(*conditions)
        .order_by(LedgerPosting.entry_seq, LedgerPosting.line)
    )
    connection = session.connection()
    options: dict[str, Any] = {"stream_results": True, "yield_per": STREAM_BATCH}
    # Per statement: Connection.execution_options() would change the shared connection.
    entry_rows = connection.execute(entries, execution_options=options)
    posting_result = connection.execute(postings, execution_options=options)
    try:
        posting_rows = iter(posting_result)
        pending = next(posting_rows, None)
        for row in entry_rows:
            lines: list[Posting] = []
            while pending is not None and pending.entry_seq == row.seq:
                lines.append(Posting(pending.account, int(pending.amount), pending.currency))
                pending = next(posting_rows, None)
            try:
                leaf = leaf_of(row, lines)
            except LeafRecordError as exc:
                raise CorruptEntry(int(row.seq), str(exc)) from exc
            yield PublishedEntry(int(row.seq), leaf, bytes(row.leaf_hash), bytes(row.chain_hash))
    finally:
        # Server-side cursors must be closed even when the caller stops early.
        entry_rows.close()
        posting_result.close()


@dataclass(frozen=True)
class EntryPage:
    entries: list[PublishedEntry]
    next_after_seq: int | None  # pass as after_seq for the next page; None on the last page


def entry_page(session: Session, *, campaign: str | None, after_seq: int, limit: int) -> EntryPage:
    """Up to ``limit`` entries after ``after_seq`` (keyset paging by seq)."""
    conditions = _entry_filter(campaign, after_seq, None)
    seqs = list(
        session.scalars(
            sa.select(LedgerEntry.seq).where(*conditions).order_by(LedgerEntry.seq).limit(limit + 1)
        )
    )
    page_seqs, more = seqs[:limit], len(seqs) > limit
    if not page_seqs:
        return EntryPage([], None)
    entries = list(
        iter_published(
            session, campaign=campaign, after_seq=after_seq, before_seq=int(page_seqs[-1]) + 1
        )
    )
    return EntryPage(entries, int(page_seqs[-1]) if more else None)


def leaf_of(row: Any, postings: list[Posting]) -> dict[str, JsonValue]:
    """The leaf record of a stored entry row (anything with the entry's column attributes)."""
    return leaf_record(
        seq=int(row.seq),
        campaign=row.campaign,
        kind=row.kind,
        occurred_at=row.occurred_at,
        postings=postings,
        ref=row.ref,
        memo=row.memo,
        reverses=None if row.reverses is None else int(row.reverses),
        evidence=row.evidence,
        donor_commitment=row.donor_commitment,
    )


def published_entry(session: Session, seq: int) -> PublishedEntry | None:
    # seq + 1 would not fit in 64 bits for the largest seq there could be; none follows it.
    before = seq + 1 if seq < _INT64_MAX else None
    found = list(iter_published(session, after_seq=seq - 1, before_seq=before))
    return found[0] if found else None


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)
