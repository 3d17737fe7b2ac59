"""Derived figures recomputed from the entries alone: the check and the rebuild.

``giving ledger verify`` trusts no stored figure. :func:`check_figures` must cost seconds
and a flat amount of memory at a million gifts, so each table is checked where that is
cheapest, and never by holding a whole table:

* ``ledger_campaign_stats`` and ``ledger_campaign_donors``: a GROUP BY (COUNT DISTINCT) and
  a DISTINCT of the entries, compared with the stored rows by a join and an EXCEPT in the
  database, which returns only the first row that differs;
* ``ledger_campaign_totals`` and the FIFO book: one streaming replay in seq order through
  the rules the sequencer applies (giving/ledger/figures_stream.py, giving/ledger/fifo.py).
  It holds the gifts still in play (those with money left, or that a later entry will take
  back from or return money to) and the outflows, and forgets a gift once nothing can
  touch it again. Totals and outflows are then compared row by row; gifts and allocations,
  most of them long forgotten, by a keyed fingerprint of the stored table streamed once.

Only when a fingerprint differs is the ledger replayed again in memory, as the check used
to do, to name the first gift or allocation that differs: a failing check may cost what the
old one did, a passing one does not.

:func:`rebuild_figures` writes that in-memory replay over the stored tables (migration 0009
uses it to fill them for an existing ledger); its memory grows with the gifts (one small
record each), which a rewrite of every row needs anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger import rules
from giving.ledger.balances import FIELD_OF_KIND
from giving.ledger.fifo import Book, FifoError, MemoryStore, Movement, OutflowState, charge_of
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
from giving.ledger.figures_stream import StreamReplay, StreamStore, replay_stream
from giving.ledger.models import LedgerEntry, LedgerPosting

_STREAM = {"stream_results": True, "yield_per": 5000}


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
    """Recompute every derived figure from the entries alone, in memory: for the rebuild,
    and to name the row that differs once a fingerprint says one does."""
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


@dataclass(frozen=True)
class FiguresChecked:
    """What the check covered, for ``giving ledger verify`` to report."""

    campaigns: int
    gifts: int
    donors: int
    peak_gifts_held: int = 0

    def summary(self) -> str:
        return (
            f"OK: figures of {self.campaigns} campaigns, {self.gifts} gifts and "
            f"{self.donors} donors match the entries"
        )


def check_figures(session: Session) -> FiguresChecked:
    """Compare every stored derived figure with the entries; raise FiguresMismatch at the first.

    Counts and donors are aggregated by the database and compared there; totals and the FIFO
    book come from one streaming replay (giving/ledger/figures_stream.py). Gifts and
    allocations are compared by fingerprint; only when one differs is the ledger replayed
    in memory again to name the first row that does.
    """
    try:
        replay = replay_stream(session)
    except FifoError as exc:
        raise FiguresMismatch(f"derived figures: the entries cannot be replayed: {exc}") from None
    _compare_totals(session, replay)
    campaigns, donors = _compare_stats(session)
    _compare_outflows(session, replay.stores.values())
    if not _fingerprints_match(session, replay):
        try:
            full = replay_ledger(session)
        except FifoError as exc:  # the streaming replay managed; say so rather than crash
            raise FiguresMismatch(
                f"derived figures: the entries cannot be replayed: {exc}"
            ) from None
        _compare_books(session, full)
        raise FiguresMismatch("derived figures: the FIFO book differs from the entries")
    return FiguresChecked(campaigns, replay.gifts, donors, replay.peak_gifts)


def _compare_totals(session: Session, replay: StreamReplay) -> None:
    computed = {(c, cur): row for c, cur, row in replay.totals_rows()}
    fields = (*TOTAL_FIELDS, "last_seq")
    for row in session.execute(_ordered(TOTALS)).all():  # a row per book: few
        key = (row.campaign, row.currency)
        expected = computed.pop(key, None)
        where = f"{row.campaign} {row.currency}"
        if expected is None:
            raise FiguresMismatch(
                f"derived figures: ledger_campaign_totals has a row for {where} the entries lack"
            )
        _same_fields("ledger_campaign_totals", where, row, expected, fields)
    for campaign, currency in sorted(computed):
        raise FiguresMismatch(
            f"derived figures: ledger_campaign_totals lacks the row for {campaign} {currency}"
        )


def _same_fields(
    name: str, where: str, stored: Any, expected: Any, fields: tuple[str, ...]
) -> None:
    for field_name in fields:
        value = int(getattr(stored, field_name))
        wanted = int(
            expected[field_name] if isinstance(expected, dict) else getattr(expected, field_name)
        )
        if value != wanted:
            raise FiguresMismatch(
                f"derived figures: {name} {where} {field_name} is {value}, the entries say {wanted}"
            )


def _stats_of_entries() -> sa.Select[Any]:
    """Per campaign with entries: its stored stats beside what the entries say (donations,
    last seq, distinct donors) and how many donor pairs only one side has.

    Stored and entry donor pairs meet in one GROUP BY, so the distinct count and both set
    differences cost one pass over the commitments instead of a sort for each.
    """
    is_donation = LedgerEntry.kind == rules.DONATION
    pairs = sa.union_all(
        sa.select(
            DONORS.c.campaign.label("campaign"),
            DONORS.c.donor_commitment.label("donor"),
            sa.literal(1).label("stored"),
            sa.literal(0).label("seen"),
        ),
        sa.select(
            LedgerEntry.campaign, LedgerEntry.donor_commitment, sa.literal(0), sa.literal(1)
        ).where(is_donation, LedgerEntry.donor_commitment.is_not(None)),
    ).subquery("pairs")
    per_pair = (
        sa.select(
            pairs.c.campaign,
            sa.func.max(pairs.c.stored).label("stored"),
            sa.func.max(pairs.c.seen).label("seen"),
        )
        .group_by(pairs.c.campaign, pairs.c.donor)
        .subquery("per_pair")
    )
    donors = (
        sa.select(
            per_pair.c.campaign,
            sa.func.sum(per_pair.c.seen).label("donors"),
            sa.func.sum(sa.case((per_pair.c.seen == 0, 1), else_=0)).label("extra"),
            sa.func.sum(sa.case((per_pair.c.stored == 0, 1), else_=0)).label("missing"),
        )
        .group_by(per_pair.c.campaign)
        .subquery("donors")
    )
    counts = (
        sa.select(
            LedgerEntry.campaign.label("campaign"),
            sa.func.sum(sa.case((is_donation, 1), else_=0)).label("donations"),
            sa.func.max(LedgerEntry.seq).label("last_seq"),
        )
        .group_by(LedgerEntry.campaign)
        .subquery("counts")
    )
    campaigns = sa.union(
        sa.select(counts.c.campaign), sa.select(donors.c.campaign), sa.select(STATS.c.campaign)
    ).subquery("campaigns")
    return (
        sa.select(
            campaigns.c.campaign,
            counts.c.campaign.label("has_entries"),
            counts.c.donations,
            counts.c.last_seq,
            sa.func.coalesce(donors.c.donors, 0).label("donors"),
            sa.func.coalesce(donors.c.extra, 0).label("extra"),
            sa.func.coalesce(donors.c.missing, 0).label("missing"),
            STATS.c.campaign.label("stored_campaign"),
            STATS.c.donors.label("stored_donors"),
            STATS.c.donations.label("stored_donations"),
            STATS.c.last_seq.label("stored_last_seq"),
        )
        .select_from(
            campaigns.outerjoin(counts, counts.c.campaign == campaigns.c.campaign)
            .outerjoin(donors, donors.c.campaign == campaigns.c.campaign)
            .outerjoin(STATS, STATS.c.campaign == campaigns.c.campaign)
        )
        .order_by(campaigns.c.campaign)
    )


def _compare_stats(session: Session) -> tuple[int, int]:
    """Stored stats and donors against the entries, aggregated in the database; returns the
    number of campaigns and of (campaign, donor) pairs.

    A campaign's stats are checked before any campaign's donors, as they always were.
    """
    fields = ("donors", "donations", "last_seq")
    campaigns = pairs = 0
    donors_differ: str | None = None
    with session.execute(_stats_of_entries(), execution_options=_STREAM) as rows:
        for row in rows:
            if donors_differ is None and (row.extra or row.missing):
                donors_differ = row.campaign
            if row.has_entries is None:
                if row.stored_campaign is not None:
                    raise FiguresMismatch(
                        f"derived figures: ledger_campaign_stats has a row for {row.campaign} "
                        "the entries lack"
                    )
                continue  # donors stored for a campaign without entries: reported below
            campaigns += 1
            pairs += int(row.donors)
            if row.stored_campaign is None:
                raise FiguresMismatch(
                    f"derived figures: ledger_campaign_stats lacks the row for {row.campaign}"
                )
            stored = {name: row._mapping[f"stored_{name}"] for name in fields}
            expected = {name: row._mapping[name] for name in fields}
            _same_fields("ledger_campaign_stats", row.campaign, _Row(stored), expected, fields)
    if donors_differ is not None:
        raise FiguresMismatch(
            f"derived figures: ledger_campaign_donors differs for campaign {donors_differ}"
        )
    return campaigns, pairs


class _Row:
    """Stored values by attribute, as ``_same_fields`` reads a stored row."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _compare_outflows(session: Session, stores: Iterable[StreamStore]) -> None:
    """Every outflow is held to the end of the replay, so they are compared row by row."""
    outflows = {
        seq: (store.campaign, store.currency, out)
        for store in stores
        for seq, out in store.outflows.items()
    }
    with session.execute(_ordered(OUTFLOWS), execution_options=_STREAM) as rows:
        for row in rows:
            _compare_outflow(row, outflows)
    if outflows:
        raise FiguresMismatch(f"derived figures: outflow seq {min(outflows)} is not stored")


def _compare_outflow(row: Any, outflows: dict[int, tuple[str, str, OutflowState]]) -> None:
    seq = int(row.seq)
    spent = outflows.pop(seq, None)
    if spent is None:
        raise FiguresMismatch(f"derived figures: ledger_fifo_outflows has seq {seq}, no outflow")
    campaign, currency, out = spent
    stored = (row.campaign, row.currency, row.kind, row.amount, row.uncovered, row.occurred_at)
    expected = (campaign, currency, out.kind, out.amount, out.uncovered, out.occurred_at)
    if tuple(stored) != expected:
        raise FiguresMismatch(
            f"derived figures: outflow seq {seq} is stored as {stored}, the entries say {expected}"
        )


def _fingerprints_match(session: Session, replay: StreamReplay) -> bool:
    """The stored gifts and allocations, streamed once, fingerprinted with the replay's key."""
    inflows = replay.inflows.blank()
    with session.execute(
        sa.select(
            INFLOWS.c.seq,
            INFLOWS.c.campaign,
            INFLOWS.c.currency,
            INFLOWS.c.gross,
            INFLOWS.c.taken_back,
            INFLOWS.c.own_fees,
            INFLOWS.c.remaining,
        ),
        execution_options=_STREAM,
    ) as rows:
        for seq, campaign, currency, gross, taken_back, own_fees, remaining in rows:
            inflows.add_inflow(seq, campaign, currency, (gross, taken_back, own_fees, remaining))
    if inflows.value != replay.inflows.value:
        return False
    # A zero adds nothing to a fingerprint, and the book never stores one: refuse it outright.
    if session.scalar(sa.select(sa.func.count()).where(ALLOCATIONS.c.amount <= 0)):
        return False
    allocations = replay.allocations.blank()
    with session.execute(
        sa.select(ALLOCATIONS.c.donation_seq, ALLOCATIONS.c.outflow_seq, ALLOCATIONS.c.amount),
        execution_options=_STREAM,
    ) as rows:
        for donation_seq, outflow_seq, amount in rows:
            allocations.add_allocation(donation_seq, outflow_seq, amount)
    return allocations.value == replay.allocations.value


def _ordered(table: sa.Table) -> sa.Select[Any]:
    return sa.select(table).order_by(*table.primary_key.columns)


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
