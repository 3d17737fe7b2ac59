"""Derived figures recomputed from the entries alone: the check and the rebuild.

``giving ledger verify`` trusts no stored figure: :func:`check_figures` replays every entry
in seq order through the rules the sequencer applies (giving/ledger/figures.py and
giving/ledger/fifo.py), in memory, and names the first stored row that differs.
:func:`rebuild_figures` writes the replay over the stored tables (migration 0009 uses it to
fill them for an existing ledger). Memory grows with the number of gifts (one small record
each), not with the postings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger import rules
from giving.ledger.balances import FIELD_OF_KIND
from giving.ledger.fifo import Book, FifoError, MemoryStore, Movement, charge_of
from giving.ledger.figures import (
    ALLOCATIONS,
    DONORS,
    INFLOWS,
    OUTFLOWS,
    STATS,
    TOTAL_FIELDS,
    TOTALS,
    FiguresMismatch,
)
from giving.ledger.models import LedgerEntry, LedgerPosting


@dataclass
class Replayed:
    """Every derived figure as replaying the whole ledger gives it."""

    totals: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    donors: set[tuple[str, str]] = field(default_factory=set)
    books: dict[tuple[str, str], MemoryStore] = field(default_factory=dict)

    def summary(self) -> str:
        gifts = sum(len(store.inflows) for store in self.books.values())
        return (
            f"OK: figures of {len(self.stats)} campaigns, {gifts} gifts and "
            f"{len(self.donors)} donors match the entries"
        )


def _fund_movements(session: Session) -> Iterator[Any]:
    """Each entry with its net posting to its own fund per currency, in seq order."""
    fund = sa.literal("campaign:") + LedgerEntry.campaign + sa.literal(":fund")
    query = (
        sa.select(
            LedgerEntry.seq,
            LedgerEntry.campaign,
            LedgerEntry.kind,
            LedgerEntry.reverses,
            LedgerEntry.ref,
            LedgerEntry.occurred_at,
            LedgerEntry.donor_commitment,
            LedgerPosting.currency,
            sa.func.sum(LedgerPosting.amount).label("delta"),
        )
        .outerjoin(
            LedgerPosting,
            sa.and_(LedgerPosting.entry_seq == LedgerEntry.seq, LedgerPosting.account == fund),
        )
        .group_by(
            LedgerEntry.seq,
            LedgerEntry.campaign,
            LedgerEntry.kind,
            LedgerEntry.reverses,
            LedgerEntry.ref,
            LedgerEntry.occurred_at,
            LedgerEntry.donor_commitment,
            LedgerPosting.currency,
        )
        .order_by(LedgerEntry.seq, LedgerPosting.currency)
    )
    yield from session.execute(query, execution_options={"stream_results": True, "yield_per": 5000})


def replay_ledger(session: Session) -> Replayed:
    """Recompute every derived figure from the entries alone, in memory."""
    result = Replayed()
    entries: dict[int, tuple[str, int | None, str | None]] = {}
    donations: dict[str, int] = {}
    books: dict[tuple[str, str], Book] = {}
    counted: set[int] = set()
    for row in _fund_movements(session):
        seq, campaign, kind = int(row.seq), row.campaign, row.kind
        if seq not in entries:
            entries[seq] = (kind, row.reverses, row.ref)
            stats = result.stats.setdefault(
                campaign, {"donors": 0, "donations": 0, "last_seq": seq}
            )
            stats["last_seq"] = seq
            if kind == rules.DONATION and seq not in counted:
                counted.add(seq)
                stats["donations"] += 1
                charge = charge_of(row.ref, rules.DONATION)
                if charge is not None:
                    donations[charge] = seq
                if row.donor_commitment is not None:
                    if (campaign, row.donor_commitment) not in result.donors:
                        stats["donors"] += 1
                    result.donors.add((campaign, row.donor_commitment))
        if row.currency is None or not row.delta:
            continue
        delta = int(row.delta)
        key = (campaign, row.currency)
        totals = result.totals.setdefault(key, {**dict.fromkeys(TOTAL_FIELDS, 0), "last_seq": seq})
        totals["last_seq"] = seq
        totals["available"] -= delta
        effective = kind
        if kind == rules.REVERSAL and row.reverses is not None:
            target = entries.get(int(row.reverses))
            effective = target[0] if target is not None else kind
        if effective in FIELD_OF_KIND:
            name, sign = FIELD_OF_KIND[effective]
            totals[name] += sign * delta
        if key not in books:
            result.books[key] = MemoryStore()
            books[key] = Book(result.books[key], entries.get, donations.get)
        books[key].apply(Movement(seq, kind, row.reverses, row.ref, row.occurred_at, delta))
    for key, store in result.books.items():
        result.totals[key]["uncovered"] = sum(o.uncovered for o in store.outflows.values())
    return result


def check_figures(session: Session) -> Replayed:
    """Compare every stored derived figure with a replay; raise FiguresMismatch at the first."""
    try:
        replayed = replay_ledger(session)
    except FifoError as exc:
        raise FiguresMismatch(f"derived figures: the entries cannot be replayed: {exc}") from None
    _compare(
        "ledger_campaign_totals",
        ((r.campaign, r.currency, r) for r in session.execute(_ordered(TOTALS))),
        ((k[0], k[1], v) for k, v in sorted(replayed.totals.items())),
        (*TOTAL_FIELDS, "last_seq"),
    )
    _compare(
        "ledger_campaign_stats",
        ((r.campaign, None, r) for r in session.execute(_ordered(STATS))),
        ((c, None, v) for c, v in sorted(replayed.stats.items())),
        ("donors", "donations", "last_seq"),
    )
    stored_donors = {
        (c, d) for c, d in session.execute(sa.select(DONORS.c.campaign, DONORS.c.donor_commitment))
    }
    if stored_donors != replayed.donors:
        extra = sorted(stored_donors - replayed.donors) or sorted(replayed.donors - stored_donors)
        raise FiguresMismatch(
            f"derived figures: ledger_campaign_donors differs for campaign {extra[0][0]}"
        )
    _compare_books(session, replayed)
    return replayed


def _ordered(table: sa.Table) -> sa.Select[Any]:
    return sa.select(table).order_by(*table.primary_key.columns)


def _compare(
    name: str,
    stored: Iterator[tuple[Any, Any, Any]],
    computed: Iterator[tuple[Any, Any, dict[str, int]]],
    fields: tuple[str, ...],
) -> None:
    stored_rows = {(a, b): row for a, b, row in stored}
    computed_rows = {(a, b): row for a, b, row in computed}
    for key in sorted(stored_rows.keys() | computed_rows.keys(), key=str):
        where = " ".join(str(part) for part in key if part is not None)
        if key not in computed_rows:
            raise FiguresMismatch(f"derived figures: {name} has a row for {where} the entries lack")
        if key not in stored_rows:
            raise FiguresMismatch(f"derived figures: {name} lacks the row for {where}")
        for field_name in fields:
            value, expected = (
                int(getattr(stored_rows[key], field_name)),
                computed_rows[key][field_name],
            )
            if value != expected:
                raise FiguresMismatch(
                    f"derived figures: {name} {where} {field_name} is {value}, "
                    f"the entries say {expected}"
                )


def _compare_books(session: Session, replayed: Replayed) -> None:
    inflows = {
        seq: (campaign, currency, state)
        for (campaign, currency), store in replayed.books.items()
        for seq, state in store.inflows.items()
    }
    for row in session.execute(_ordered(INFLOWS)):
        seq = int(row.seq)
        found = inflows.pop(seq, None)
        if found is None:
            raise FiguresMismatch(f"derived figures: ledger_fifo_inflows has seq {seq}, no gift")
        campaign, currency, state = found
        stored = (
            row.campaign,
            row.currency,
            row.gross,
            row.taken_back,
            row.own_fees,
            row.remaining,
        )
        expected = (
            campaign,
            currency,
            state.gross,
            state.taken_back,
            state.own_fees,
            state.remaining,
        )
        if tuple(stored) != expected:
            raise FiguresMismatch(
                f"derived figures: gift seq {seq} is stored as {stored}, the entries say {expected}"
            )
    if inflows:
        raise FiguresMismatch(f"derived figures: gift seq {min(inflows)} is not stored")
    outflows = {
        seq: (campaign, currency, out)
        for (campaign, currency), store in replayed.books.items()
        for seq, out in store.outflows.items()
    }
    for row in session.execute(_ordered(OUTFLOWS)):
        seq = int(row.seq)
        spent = outflows.pop(seq, None)
        if spent is None:
            raise FiguresMismatch(
                f"derived figures: ledger_fifo_outflows has seq {seq}, no outflow"
            )
        campaign, currency, out = spent
        stored_out = (
            row.campaign,
            row.currency,
            row.kind,
            row.amount,
            row.uncovered,
            row.occurred_at,
        )
        expected_out = (
            campaign,
            currency,
            out.kind,
            out.amount,
            out.uncovered,
            out.occurred_at,
        )
        if tuple(stored_out) != expected_out:
            raise FiguresMismatch(
                f"derived figures: outflow seq {seq} is stored as {stored_out}, the entries say "
                f"{expected_out}"
            )
    if outflows:
        raise FiguresMismatch(f"derived figures: outflow seq {min(outflows)} is not stored")
    allocations = sorted(a for store in replayed.books.values() for a in store.allocations())
    stored_allocations = [
        (int(d), int(o), int(a))
        for d, o, a in session.execute(
            sa.select(
                ALLOCATIONS.c.donation_seq, ALLOCATIONS.c.outflow_seq, ALLOCATIONS.c.amount
            ).order_by(ALLOCATIONS.c.donation_seq, ALLOCATIONS.c.outflow_seq)
        )
    ]
    if stored_allocations != allocations:
        for stored_row, expected_row in zip(stored_allocations, allocations, strict=False):
            if stored_row != expected_row:
                raise FiguresMismatch(
                    f"derived figures: allocation {stored_row} is stored where the entries say "
                    f"{expected_row}"
                )
        raise FiguresMismatch(
            f"derived figures: {len(stored_allocations)} allocations are stored, the entries "
            f"make {len(allocations)}"
        )


def rebuild_figures(session: Session) -> Replayed:
    """Replace every derived table's rows with a replay of the ledger (in the caller's
    transaction; take the ledger lock first so no entry is sealed meanwhile)."""
    replayed = replay_ledger(session)
    for table in (ALLOCATIONS, OUTFLOWS, INFLOWS, DONORS, STATS, TOTALS):
        session.execute(sa.delete(table))
    _insert_many(
        session,
        TOTALS,
        [{"campaign": c, "currency": cur, **row} for (c, cur), row in replayed.totals.items()],
    )
    _insert_many(session, STATS, [{"campaign": c, **row} for c, row in replayed.stats.items()])
    _insert_many(
        session,
        DONORS,
        [{"campaign": c, "donor_commitment": d} for c, d in sorted(replayed.donors)],
    )
    for (campaign, currency), store in replayed.books.items():
        _insert_many(
            session,
            INFLOWS,
            [
                {
                    "seq": i.seq,
                    "campaign": campaign,
                    "currency": currency,
                    "gross": i.gross,
                    "taken_back": i.taken_back,
                    "own_fees": i.own_fees,
                    "remaining": i.remaining,
                }
                for i in store.inflows.values()
            ],
        )
        _insert_many(
            session,
            OUTFLOWS,
            [
                {
                    "seq": o.seq,
                    "campaign": campaign,
                    "currency": currency,
                    "kind": o.kind,
                    "amount": o.amount,
                    "uncovered": o.uncovered,
                    "occurred_at": o.occurred_at,
                }
                for o in store.outflows.values()
            ],
        )
        _insert_many(
            session,
            ALLOCATIONS,
            [{"donation_seq": d, "outflow_seq": o, "amount": a} for d, o, a in store.allocations()],
        )
    return replayed


def _insert_many(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        session.execute(sa.insert(table), rows[start : start + 5000])
