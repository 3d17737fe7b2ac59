"""A campaign's sealed entries as published leaf records, fast enough for 200,000 entries.

giving.ledger.queries.iter_published rebuilds each leaf through ``leaf_record``, which
re-validates every field: the right thing for an API, and a third of a large report's time.
Sealed entries were validated when they were sealed (and the database re-checked them on
insert), so here the leaf is assembled directly from the stored columns, in the same shape:
postings in their stored canonical order, evidence sorted, the timestamp in the leaf's fixed
form. Tests compare every leaf with ``iter_published``'s and the whole export byte for byte
with giving.ledger.export, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Generator, Iterator
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler

from giving.ledger.canonical import LEAF_FORMAT_VERSION, TIMESTAMP_FORMAT, JsonValue
from giving.ledger.models import LedgerEntry, LedgerPosting
from giving.ledger.queries import PublishedEntry

STREAM_BATCH = 5_000


def _digests(stored: Any) -> list[str]:
    """The evidence column as stored: JSON text (SQLite) or already a list (PostgreSQL)."""
    if isinstance(stored, list):
        return sorted(stored)
    if not stored or stored == "[]":
        return []
    return sorted(json.loads(stored))


class EntryRow(NamedTuple):
    """One sealed entry's public fields, as plain values (cheaper than the leaf's dict).

    ``postings`` are (account, currency, amount) in the leaf's canonical order; the hashes
    are already hex.
    """

    seq: int
    campaign: str | None
    kind: str
    occurred_at: str  # the leaf's fixed UTC form
    ref: str | None
    memo: str
    reverses: int | None
    evidence: list[str]
    donor_commitment: str | None
    leaf_hash: str
    chain_hash: str
    postings: list[tuple[str, str, int]]

    def leaf(self) -> dict[str, JsonValue]:
        """The leaf record, exactly as giving.ledger.canonical.leaf_record builds it."""
        return {
            "v": LEAF_FORMAT_VERSION,
            "seq": self.seq,
            "campaign": self.campaign,
            "kind": self.kind,
            "occurred_at": self.occurred_at,
            "postings": [
                {"account": account, "amount": amount, "currency": currency}
                for account, currency, amount in self.postings
            ],
            "ref": self.ref,
            "memo": self.memo,
            "reverses": self.reverses,
            "evidence": cast(JsonValue, list(self.evidence)),
            "donor_commitment": self.donor_commitment,
        }

    def published(self) -> PublishedEntry:
        return PublishedEntry(
            self.seq, self.leaf(), bytes.fromhex(self.leaf_hash), bytes.fromhex(self.chain_hash)
        )

    @classmethod
    def from_published(cls, entry: PublishedEntry) -> EntryRow:
        leaf = cast(dict[str, Any], entry.leaf)
        return cls(
            seq=entry.seq,
            campaign=leaf["campaign"],
            kind=leaf["kind"],
            occurred_at=leaf["occurred_at"],
            ref=leaf["ref"],
            memo=leaf["memo"],
            reverses=leaf["reverses"],
            evidence=list(leaf["evidence"]),
            donor_commitment=leaf["donor_commitment"],
            leaf_hash=entry.leaf_hash.hex(),
            chain_hash=entry.chain_hash.hex(),
            postings=[(p["account"], p["currency"], p["amount"]) for p in leaf["postings"]],
        )


def leaf_timestamp(moment: dt.datetime) -> str:
    """``occurred_at`` (naive, UTC) in the leaf's form, as canonical.format_timestamp writes it.

    ``isoformat`` gives the same text as ``strftime(TIMESTAMP_FORMAT)`` at a third of the cost,
    except for years before 1000, which strftime does not pad; those take the slow path.
    """
    if moment.year >= 1000:
        return moment.isoformat(timespec="microseconds") + "Z"
    return moment.strftime(TIMESTAMP_FORMAT)


def _driver_rows(
    connection: sa.Connection, statement: sa.ClauseElement, name: str
) -> Generator[Any, None, None]:
    """The rows of ``statement`` straight from the database driver, in batches.

    SQLAlchemy's result rows and type processors cost more than everything else a report does
    with 200,000 entries, so the two big reads go to the driver directly: the statement is
    still built from the models and compiled for the dialect (its parameters are plain strings
    and integers, which need no bind processing). On PostgreSQL the cursor is a named,
    server-side one in binary format, so the read streams without a round trip per row and
    without text parsing; SQLite cursors step through the result as they are read anyway.
    """
    compiled = cast(SQLCompiler, statement.compile(dialect=connection.dialect))
    params = compiled.params
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"{name}_{next(_cursor_numbers)}", binary=True)
        cursor.execute(compiled.string, params)
    else:
        cursor = driver.cursor()
        if compiled.positiontup is not None:
            cursor.execute(compiled.string, [params[key] for key in compiled.positiontup])
        else:
            cursor.execute(compiled.string, params)
    try:
        while batch := cursor.fetchmany(STREAM_BATCH):
            yield from batch
    finally:
        # A server-side cursor must be closed even when the caller stops early.
        cursor.close()


_cursor_numbers = itertools.count(1)


def _occurred_at_utc(
    connection: sa.Connection,
) -> sa.ColumnElement[Any] | QueryableAttribute[dt.datetime]:
    """``occurred_at`` as a naive UTC timestamp on both backends (SQLite stores it so)."""
    if connection.dialect.name == "postgresql":
        return sa.func.timezone("UTC", LedgerEntry.occurred_at)
    return LedgerEntry.occurred_at


def _naive_utc(value: Any) -> dt.datetime:
    """A driver's ``occurred_at``: a naive UTC datetime (PostgreSQL) or its text (SQLite)."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def entry_rows(session: Session, *, campaign: str | None, before_seq: int) -> Iterator[EntryRow]:
    """The campaign's entries (every entry, for None) with seq < ``before_seq``, in seq order.

    Entries and postings come from two ordered cursors walked side by side (two single-table
    plans that need no statistics), so a whole campaign streams in constant memory.
    """
    connection = session.connection()
    conditions: list[sa.ColumnElement[bool]] = [LedgerEntry.seq < before_seq]
    if campaign is not None:
        conditions.append(LedgerEntry.campaign == campaign)
    entries = (
        sa.select(
            LedgerEntry.seq,
            LedgerEntry.campaign,
            LedgerEntry.kind,
            _occurred_at_utc(connection),
            LedgerEntry.ref,
            LedgerEntry.memo,
            LedgerEntry.reverses,
            # As text: most entries have no evidence, and "[]" needs no JSON parser.
            sa.cast(LedgerEntry.evidence, sa.Text),
            LedgerEntry.donor_commitment,
            LedgerEntry.leaf_hash,
            LedgerEntry.chain_hash,
        )
        .where(*conditions)
        .order_by(LedgerEntry.seq)
    )
    postings = (
        sa.select(
            LedgerPosting.entry_seq,
            LedgerPosting.account,
            LedgerPosting.currency,
            LedgerPosting.amount,
        )
        .join(LedgerEntry, LedgerEntry.seq == LedgerPosting.entry_seq)
        .where(*conditions)
        .order_by(LedgerPosting.entry_seq, LedgerPosting.line)
    )
    rows = _driver_rows(connection, entries, "giving_report_entries")
    posting_rows = _driver_rows(connection, postings, "giving_report_postings")
    try:
        pending = next(posting_rows, None)
        for (
            seq,
            campaign_id,
            kind,
            occurred,
            ref,
            memo,
            reverses,
            evidence,
            commitment,
            leaf,
            chain,
        ) in rows:
            lines = []
            while pending is not None and pending[0] == seq:
                lines.append((pending[1], pending[2], int(pending[3])))
                pending = next(posting_rows, None)
            if len(lines) > 1:
                lines.sort()
            yield EntryRow(
                int(seq),
                campaign_id,
                kind,
                leaf_timestamp(_naive_utc(occurred)),
                ref,
                memo,
                None if reverses is None else int(reverses),
                _digests(evidence),
                commitment,
                bytes(leaf).hex(),
                bytes(chain).hex(),
                lines,
            )
    finally:
        rows.close()
        posting_rows.close()


def leaf_hashes(session: Session, tree_size: int) -> list[bytes]:
    """The leaf hashes of the first ``tree_size`` entries of the whole ledger, in seq order."""
    statement = (
        sa.select(LedgerEntry.leaf_hash)
        .where(LedgerEntry.seq < tree_size)
        .order_by(LedgerEntry.seq)
    )
    return [
        bytes(leaf)
        for (leaf,) in _driver_rows(session.connection(), statement, "giving_report_leaves")
    ]


def published_entries(
    session: Session, *, campaign: str, before_seq: int
) -> Iterator[PublishedEntry]:
    """The same entries as giving.ledger.queries.iter_published publishes them."""
    for row in entry_rows(session, campaign=campaign, before_seq=before_seq):
        yield row.published()
