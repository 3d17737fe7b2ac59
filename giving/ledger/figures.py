"""Figures derived from the ledger, kept as entries are sealed, checked against a replay.

Pages show a campaign's totals, donors and where each gift went; recomputing them from every
posting costs time in proportion to the gifts, so a campaign that goes viral would make its
own page unusable. Instead :func:`update_figures` runs inside ``sealing.seal`` (the one place
both append paths end), in the transaction that seals the entries, under the ledger lock, and
reads and writes only the rows those entries touch:

* ``ledger_campaign_totals``: per campaign and currency, the fund split by kind as
  ``balances.CurrencySummary`` defines it, plus what FIFO left uncovered;
* ``ledger_campaign_stats`` and ``ledger_campaign_donors``: distinct donors and gifts;
* ``ledger_fifo_*``: the first-in-first-out book of giving/ledger/fifo.py.

Nothing here is a source of truth: giving/ledger/figures_replay.py replays every entry from
scratch through the same rules, streaming, and names the first stored figure that differs
(``giving ledger verify`` calls it), or rewrites the tables from that replay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from giving.ledger import rules
from giving.ledger.balances import FIELD_OF_KIND, SUMMARY_FIELDS
from giving.ledger.checks import LedgerView
from giving.ledger.fifo import (
    Book,
    InflowState,
    Movement,
    OutflowState,
    Queue,
)
from giving.ledger.models import (
    CampaignDonor,
    CampaignStats,
    CampaignTotals,
    FifoAllocation,
    FifoInflow,
    FifoOutflow,
)
from giving.ledger.rules import EntryDraft

TOTAL_FIELDS = (*SUMMARY_FIELDS, "uncovered")
_PAGE = 256  # gifts read at a time when an outflow walks the queue


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


TOTALS = _table(CampaignTotals)
STATS = _table(CampaignStats)
DONORS = _table(CampaignDonor)
INFLOWS = _table(FifoInflow)
OUTFLOWS = _table(FifoOutflow)
ALLOCATIONS = _table(FifoAllocation)


class FiguresMismatch(Exception):
    """A stored derived figure differs from the replay of the ledger; the message says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------ the database-backed book


class SessionStore:
    """One book's rows as a sealing transaction sees them: loaded when touched, written once.

    The database rows do not change while the ledger lock is held, except through this
    store, so every row read is cached and the cache is the truth until :meth:`flush`.
    Gifts with money left (and outflows left unpaid) are read oldest first a page at a time;
    rows already cached are skipped, since the cache knows better.
    """

    def __init__(
        self, session: Session, campaign: str, currency: str, *, any_uncovered: bool
    ) -> None:
        self._session = session
        self._campaign = campaign
        self._currency = currency
        self._inflows: dict[int, InflowState | None] = {}
        self._outflows: dict[int, OutflowState | None] = {}
        self._new_inflows: set[int] = set()
        self._new_outflows: set[int] = set()
        self._changed_inflows: set[int] = set()
        self._changed_outflows: set[int] = set()
        self._uncovered_before: dict[int, int] = {}
        self._money = _Scan(self._scan_inflows, lambda s: _remaining(self._inflows.get(s)) > 0)
        self._unpaid = _Scan(self._scan_outflows, lambda s: _unpaid(self._outflows.get(s)) > 0)
        if not any_uncovered:
            self._unpaid.done = True  # the totals row says no stored outflow is unpaid
        self._paid_by: dict[int, dict[int, int]] = {}
        self._paid_to: dict[int, dict[int, int]] = {}
        self._deltas: dict[tuple[int, int], int] = defaultdict(int)

    # -- gifts

    def inflow(self, seq: int) -> InflowState | None:
        if seq not in self._inflows:
            row = self._session.execute(
                sa.select(
                    INFLOWS.c.seq,
                    INFLOWS.c.gross,
                    INFLOWS.c.taken_back,
                    INFLOWS.c.own_fees,
                    INFLOWS.c.remaining,
                ).where(
                    INFLOWS.c.seq == seq,
                    INFLOWS.c.campaign == self._campaign,
                    INFLOWS.c.currency == self._currency,
                )
            ).first()
            self._cache_inflow(seq, InflowState(*map(int, row)) if row is not None else None)
        return self._inflows[seq]

    def _cache_inflow(self, seq: int, inflow: InflowState | None) -> None:
        self._inflows[seq] = inflow
        if inflow is not None and inflow.remaining > 0:
            self._money.push(seq)

    def add_inflow(self, inflow: InflowState) -> None:
        self._new_inflows.add(inflow.seq)
        self._cache_inflow(inflow.seq, inflow)

    def inflow_changed(self, inflow: InflowState) -> None:
        self._changed_inflows.add(inflow.seq)
        if inflow.remaining > 0:
            self._money.push(inflow.seq)

    def oldest_with_money(self) -> InflowState | None:
        seq = self._money.first()
        return None if seq is None else self._inflows[seq]

    def _scan_inflows(self, after: int) -> list[int]:
        rows = self._session.execute(
            sa.select(
                INFLOWS.c.seq,
                INFLOWS.c.gross,
                INFLOWS.c.taken_back,
                INFLOWS.c.own_fees,
                INFLOWS.c.remaining,
            )
            .where(
                INFLOWS.c.campaign == self._campaign,
                INFLOWS.c.currency == self._currency,
                INFLOWS.c.remaining > 0,
                INFLOWS.c.seq > after,
            )
            .order_by(INFLOWS.c.seq)
            .limit(_PAGE)
        ).all()
        for row in rows:
            if int(row.seq) not in self._inflows:
                self._cache_inflow(int(row.seq), InflowState(*map(int, row)))
        return [int(row.seq) for row in rows]

    # -- outflows

    def outflow(self, seq: int) -> OutflowState | None:
        if seq not in self._outflows:
            row = self._session.execute(self._outflow_query().where(OUTFLOWS.c.seq == seq)).first()
            self._cache_outflow(seq, _outflow_of(row) if row is not None else None)
        return self._outflows[seq]

    def _outflow_query(self) -> sa.Select[Any]:
        return sa.select(
            OUTFLOWS.c.seq,
            OUTFLOWS.c.kind,
            OUTFLOWS.c.amount,
            OUTFLOWS.c.uncovered,
            OUTFLOWS.c.occurred_at,
        ).where(OUTFLOWS.c.campaign == self._campaign, OUTFLOWS.c.currency == self._currency)

    def _cache_outflow(self, seq: int, outflow: OutflowState | None) -> None:
        self._outflows[seq] = outflow
        if outflow is not None:
            self._uncovered_before.setdefault(seq, outflow.uncovered)
            if outflow.uncovered > 0:
                self._unpaid.push(seq)

    def add_outflow(self, outflow: OutflowState) -> None:
        self._new_outflows.add(outflow.seq)
        self._uncovered_before[outflow.seq] = 0
        self._cache_outflow(outflow.seq, outflow)

    def outflow_changed(self, outflow: OutflowState) -> None:
        self._changed_outflows.add(outflow.seq)
        if outflow.uncovered > 0:
            self._unpaid.push(outflow.seq)

    def oldest_uncovered(self) -> OutflowState | None:
        seq = self._unpaid.first()
        return None if seq is None else self._outflows[seq]

    def _scan_outflows(self, after: int) -> list[int]:
        rows = self._session.execute(
            self._outflow_query()
            .where(OUTFLOWS.c.uncovered > 0, OUTFLOWS.c.seq > after)
            .order_by(OUTFLOWS.c.seq)
            .limit(_PAGE)
        ).all()
        for row in rows:
            if int(row.seq) not in self._outflows:
                self._cache_outflow(int(row.seq), _outflow_of(row))
        return [int(row.seq) for row in rows]

    # -- allocations: stored rows plus this batch's changes

    def paid_by(self, donation_seq: int) -> dict[int, int]:
        if donation_seq not in self._paid_by:
            rows = self._session.execute(
                sa.select(ALLOCATIONS.c.outflow_seq, ALLOCATIONS.c.amount).where(
                    ALLOCATIONS.c.donation_seq == donation_seq
                )
            )
            self._paid_by[donation_seq] = {int(o): int(a) for o, a in rows}
        merged = dict(self._paid_by[donation_seq])
        for (d, o), delta in self._deltas.items():
            if d == donation_seq:
                merged[o] = merged.get(o, 0) + delta
        return {o: a for o, a in merged.items() if a}

    def paid_to(self, outflow_seq: int) -> dict[int, int]:
        if outflow_seq not in self._paid_to:
            rows = self._session.execute(
                sa.select(ALLOCATIONS.c.donation_seq, ALLOCATIONS.c.amount).where(
                    ALLOCATIONS.c.outflow_seq == outflow_seq
                )
            )
            self._paid_to[outflow_seq] = {int(d): int(a) for d, a in rows}
        merged = dict(self._paid_to[outflow_seq])
        for (d, o), delta in self._deltas.items():
            if o == outflow_seq:
                merged[d] = merged.get(d, 0) + delta
        return {d: a for d, a in merged.items() if a}

    def allocate(self, donation_seq: int, outflow_seq: int, delta: int) -> None:
        self._deltas[(donation_seq, outflow_seq)] += delta

    # -- writing

    @property
    def uncovered_change(self) -> int:
        return sum(
            _unpaid(self._outflows.get(seq)) - before
            for seq, before in self._uncovered_before.items()
        )

    def flush(self) -> None:
        """Write what changed: a few multi-row statements per book."""
        new = [self._inflows[s] for s in sorted(self._new_inflows)]
        if new:
            self._session.execute(
                sa.insert(INFLOWS),
                [self._inflow_row(i) for i in new if i is not None],
            )
        changed = [self._inflows[s] for s in sorted(self._changed_inflows - self._new_inflows)]
        if changed:
            self._session.execute(
                sa.update(INFLOWS)
                .where(INFLOWS.c.seq == sa.bindparam("b_seq"))
                .values(
                    taken_back=sa.bindparam("b_taken_back"),
                    own_fees=sa.bindparam("b_own_fees"),
                    remaining=sa.bindparam("b_remaining"),
                ),
                [
                    {
                        "b_seq": i.seq,
                        "b_taken_back": i.taken_back,
                        "b_own_fees": i.own_fees,
                        "b_remaining": i.remaining,
                    }
                    for i in changed
                    if i is not None
                ],
            )
        new_out = [self._outflows[s] for s in sorted(self._new_outflows)]
        if new_out:
            self._session.execute(
                sa.insert(OUTFLOWS),
                [
                    {
                        "seq": o.seq,
                        "campaign": self._campaign,
                        "currency": self._currency,
                        "kind": o.kind,
                        "amount": o.amount,
                        "uncovered": o.uncovered,
                        "occurred_at": o.occurred_at,
                    }
                    for o in new_out
                    if o is not None
                ],
            )
        changed_out = [
            self._outflows[s] for s in sorted(self._changed_outflows - self._new_outflows)
        ]
        if changed_out:
            self._session.execute(
                sa.update(OUTFLOWS)
                .where(OUTFLOWS.c.seq == sa.bindparam("b_seq"))
                .values(amount=sa.bindparam("b_amount"), uncovered=sa.bindparam("b_uncovered")),
                [
                    {"b_seq": o.seq, "b_amount": o.amount, "b_uncovered": o.uncovered}
                    for o in changed_out
                    if o is not None
                ],
            )
        self._flush_allocations()

    def _inflow_row(self, inflow: InflowState) -> dict[str, object]:
        return {
            "seq": inflow.seq,
            "campaign": self._campaign,
            "currency": self._currency,
            "gross": inflow.gross,
            "taken_back": inflow.taken_back,
            "own_fees": inflow.own_fees,
            "remaining": inflow.remaining,
        }

    def _flush_allocations(self) -> None:
        rows = [
            {"donation_seq": d, "outflow_seq": o, "amount": delta}
            for (d, o), delta in sorted(self._deltas.items())
            if delta
        ]
        if not rows:
            return
        insert = _dialect_insert(self._session)(ALLOCATIONS)
        self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["donation_seq", "outflow_seq"],
                set_={"amount": ALLOCATIONS.c.amount + insert.excluded.amount},
            ),
            rows,
        )
        touched = sorted({o for _, o in self._deltas})
        self._session.execute(
            sa.delete(ALLOCATIONS).where(
                ALLOCATIONS.c.outflow_seq.in_(touched), ALLOCATIONS.c.amount == 0
            )
        )


class _Scan:
    """Oldest-first seqs from the cache and from pages of stored rows, merged."""

    def __init__(self, scan: Any, valid: Any) -> None:
        self._queue = Queue(valid)
        self._scan = scan
        self._after = -1  # every stored candidate at or below this is cached
        self.done = False

    def push(self, seq: int) -> None:
        self._queue.push(seq)

    def first(self) -> int | None:
        while True:
            top = self._queue.first()
            if self.done or (top is not None and top <= self._after):
                return top
            page = self._scan(self._after)
            if len(page) < _PAGE:
                self.done = True
            if page:
                self._after = page[-1]


def _remaining(inflow: InflowState | None) -> int:
    return inflow.remaining if inflow is not None else 0


def _unpaid(outflow: OutflowState | None) -> int:
    return outflow.uncovered if outflow is not None else 0


def _outflow_of(row: Any) -> OutflowState:
    return OutflowState(
        int(row.seq), row.kind, int(row.amount), int(row.uncovered), row.occurred_at
    )


def _dialect_insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


# ------------------------------------------------------------------ applying sealed entries


def _fund_deltas(draft: EntryDraft) -> dict[str, int]:
    fund = rules.fund_account(draft.campaign)
    deltas: dict[str, int] = defaultdict(int)
    for posting in draft.postings:
        if posting.account == fund:
            deltas[posting.currency] += posting.amount
    return {currency: delta for currency, delta in deltas.items() if delta}


def update_figures(
    session: Session, view: LedgerView, sealed: Sequence[tuple[int, EntryDraft]]
) -> None:
    """Apply newly sealed entries (in seq order) to every derived figure they change."""
    if not sealed:
        return
    campaigns = sorted({draft.campaign for _, draft in sealed})
    totals = {
        (row.campaign, row.currency): {name: int(getattr(row, name)) for name in TOTAL_FIELDS}
        for row in session.execute(sa.select(TOTALS).where(TOTALS.c.campaign.in_(campaigns)))
    }
    stored_totals = set(totals)
    stats = {
        row.campaign: {"donors": int(row.donors), "donations": int(row.donations)}
        for row in session.execute(sa.select(STATS).where(STATS.c.campaign.in_(campaigns)))
    }
    stored_stats = set(stats)
    last_seq: dict[tuple[str, str], int] = {}
    campaign_last: dict[str, int] = {}
    books: dict[tuple[str, str], tuple[Book, SessionStore]] = {}
    commitments: dict[str, set[str]] = defaultdict(set)

    def entry_of(seq: int) -> tuple[str, int | None, str | None] | None:
        facts = view.entry(seq)
        return None if facts is None else (facts.kind, facts.reverses, facts.ref)

    def donation_of(charge: str) -> int | None:
        return view.seq_of_ref(f"{charge}:{rules.DONATION}")

    for seq, draft in sealed:
        campaign_last[draft.campaign] = seq
        counts = stats.setdefault(draft.campaign, {"donors": 0, "donations": 0})
        if draft.kind == rules.DONATION:
            counts["donations"] += 1
            if draft.donor_commitment is not None:
                commitments[draft.campaign].add(draft.donor_commitment)
        kind = draft.kind
        if kind == rules.REVERSAL and draft.reverses is not None:
            target = view.entry(draft.reverses)
            kind = target.kind if target is not None else kind
        for currency, delta in _fund_deltas(draft).items():
            key = (draft.campaign, currency)
            row = totals.setdefault(key, dict.fromkeys(TOTAL_FIELDS, 0))
            row["available"] -= delta
            if kind in FIELD_OF_KIND:
                name, sign = FIELD_OF_KIND[kind]
                row[name] += sign * delta
            last_seq[key] = seq
            if key not in books:
                store = SessionStore(
                    session, draft.campaign, currency, any_uncovered=row["uncovered"] > 0
                )
                books[key] = (Book(store, entry_of, donation_of), store)
            books[key][0].apply(
                Movement(seq, draft.kind, draft.reverses, draft.ref, draft.occurred_at, delta)
            )
    for key, (_, store) in books.items():
        store.flush()
        totals[key]["uncovered"] += store.uncovered_change
    _count_new_donors(session, commitments, stats)
    _write_rows(
        session,
        TOTALS,
        ("campaign", "currency"),
        {key: {**row, "last_seq": last_seq[key]} for key, row in totals.items() if key in last_seq},
        stored_totals,
    )
    _write_rows(
        session,
        STATS,
        ("campaign",),
        {(c,): {**stats[c], "last_seq": seq} for c, seq in campaign_last.items()},
        {(c,) for c in stored_stats},
    )


def _count_new_donors(
    session: Session, commitments: dict[str, set[str]], stats: dict[str, dict[str, int]]
) -> None:
    """Record commitments not seen before on their campaign and count them as new donors.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING: what it inserted is what was new (the
    sequencer holds the ledger lock, so no other writer adds donors meanwhile), one round
    trip under the lock instead of a read and a write.
    """
    if not commitments:
        return
    wanted = sorted({(c, d) for c, ds in commitments.items() for d in ds})
    new = session.execute(
        _dialect_insert(session)(DONORS)
        .on_conflict_do_nothing()
        .returning(DONORS.c.campaign, DONORS.c.donor_commitment),
        [{"campaign": c, "donor_commitment": d} for c, d in wanted],
    ).all()
    for campaign, _ in new:
        stats[campaign]["donors"] += 1


def _write_rows(
    session: Session,
    table: sa.Table,
    keys: tuple[str, ...],
    rows: dict[Any, dict[str, int]],
    stored: set[Any],
) -> None:
    inserts = [
        {**dict(zip(keys, key, strict=True)), **row}
        for key, row in rows.items()
        if key not in stored
    ]
    updates = [
        {**{f"b_{k}": v for k, v in zip(keys, key, strict=True)}, **row}
        for key, row in rows.items()
        if key in stored
    ]
    if inserts:
        session.execute(sa.insert(table), inserts)
    if updates:
        values = [name for name in updates[0] if not name.startswith("b_")]
        session.execute(
            sa.update(table)
            .where(*(table.c[k] == sa.bindparam(f"b_{k}") for k in keys))
            .values({name: sa.bindparam(name) for name in values}),
            updates,
        )
