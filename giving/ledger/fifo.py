"""First-in-first-out allocation of a fund's gifts to its outflows, kept as entries arrive.

A campaign's fund, in one currency, is a *book*: its donations are inflows, its
disbursements and the fees no gift bore are outflows, and each outflow is paid for by the
oldest gifts that still have money left. The book is kept incrementally (DESIGN §3 allows a
derived figure that is rebuilt from the ledger and checked): each sealed entry's effect on
the fund is applied once, in seq order, by the rules below, so a page reads the result
instead of replaying the campaign's whole history. ``giving ledger verify`` replays every
entry through the same rules (giving/ledger/figures_stream.py) and compares.

The rules, by what an entry's fund movement belongs to:

* **A donation** adds an inflow with all of its money left; it first pays for spending that
  no earlier gift covered (``uncovered``), oldest outflow first.
* **Its own fees** (the fee entry whose ref names the donation's charge) come out of that
  gift first: they were the cost of receiving it. Fees beyond what is left of it become an
  outflow of kind ``fees`` keyed by the donation's seq, paid like any other outflow.
* **A take-back** (refund, dispute, a reversed win or donation) lowers what is left of the
  gift; if the gift had already paid for spending, that spending (newest first) is uncovered
  again and later gifts with money left pay for it instead, and beyond that the gift's own
  fees become an outflow. A give-back (dispute won, a reversed refund) returns money to the
  gift, which then pays for anything uncovered.
* **An outflow** (a disbursement, or a fee of no gift's) takes money from the oldest gifts;
  what no gift can pay stays ``uncovered``. A reversed outflow first drops its uncovered part,
  then returns money to the gifts that paid, newest gift first.

Invariants (property-tested): no gift pays more than it has, no outflow is paid more than it
cost, ``own_fees + remaining + paid out = gross - taken_back`` for every gift, and the money
left in all gifts less everything uncovered is the fund's balance.

Storage is behind :class:`BookStore`: :class:`MemoryStore` for the rebuild and the pure
allocator, the streaming store of giving/ledger/figures_stream.py for the check (only the
gifts still in play), and the database store in giving/ledger/figures.py, which loads only
the rows an entry touches.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from giving.ledger import rules

FEES = "fees"
DISBURSEMENT = rules.DISBURSEMENT
FEE_KINDS = (rules.PROCESSOR_FEE, rules.PLATFORM_FEE)
_FOLLOWS_TARGET = (rules.REVERSAL, rules.REFUND, rules.DISPUTE, rules.DISPUTE_WON)


class FifoError(RuntimeError):
    """The entries broke a rule the ledger enforces (e.g. a refund beyond its gift)."""


@dataclass(slots=True)
class InflowState:
    seq: int
    gross: int
    taken_back: int
    own_fees: int
    remaining: int


@dataclass(slots=True)
class OutflowState:
    seq: int
    kind: str  # DISBURSEMENT or FEES
    amount: int
    uncovered: int
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Movement:
    """One entry's net effect on one fund in one currency (money out is positive)."""

    seq: int
    kind: str
    reverses: int | None
    ref: str | None
    occurred_at: dt.datetime
    fund_delta: int


class BookStore(Protocol):
    """Where one book's inflows, outflows and allocations live while rules change them."""

    def inflow(self, seq: int) -> InflowState | None: ...
    def add_inflow(self, inflow: InflowState) -> None: ...
    def inflow_changed(self, inflow: InflowState) -> None: ...
    def oldest_with_money(self) -> InflowState | None: ...
    def outflow(self, seq: int) -> OutflowState | None: ...
    def add_outflow(self, outflow: OutflowState) -> None: ...
    def outflow_changed(self, outflow: OutflowState) -> None: ...
    def oldest_uncovered(self) -> OutflowState | None: ...
    def paid_by(self, donation_seq: int) -> dict[int, int]: ...
    def paid_to(self, outflow_seq: int) -> dict[int, int]: ...
    def allocate(self, donation_seq: int, outflow_seq: int, delta: int) -> None: ...


# `entry_of(seq)` gives (kind, reverses, ref) of any earlier entry; `donation_of(charge)` the
# seq of the donation entry whose ref is ``<charge>:donation``, if any.
EntryOf = Callable[[int], tuple[str, int | None, str | None] | None]
DonationOf = Callable[[str], int | None]


def charge_of(ref: str | None, kind: str) -> str | None:
    """The processor object named by a ref ``<charge>:<kind>``, or None."""
    suffix = f":{kind}"
    if ref is None or not ref.endswith(suffix):
        return None
    return ref[: -len(suffix)]


class Book:
    """One fund in one currency: applies movements to its store by the module's rules."""

    def __init__(self, store: BookStore, entry_of: EntryOf, donation_of: DonationOf) -> None:
        self.store = store
        self._entry_of = entry_of
        self._donation_of = donation_of

    # ---------------------------------------------------------------- what a movement is

    def _group(self, m: Movement) -> tuple[str, int]:
        """What the movement belongs to: ("donation" | "fee_of" | DISBURSEMENT | FEES |
        "other", the seq of that gift or outflow). Take-backs and reversals follow the
        entry they name, so a reversed refund belongs to the refunded gift."""
        seq, kind, reverses, ref = m.seq, m.kind, m.reverses, m.ref
        for _ in range(4):  # reversals of reversals are refused by the ledger; never loop
            if kind not in _FOLLOWS_TARGET:
                break
            target = self._entry_of(reverses) if reverses is not None else None
            if target is None or reverses is None:
                return ("other", seq)
            seq, (kind, reverses, ref) = reverses, target
        else:
            return ("other", seq)
        if kind == rules.DONATION:
            return ("donation", seq)
        if kind in FEE_KINDS:
            charge = charge_of(ref, kind)
            owner = self._donation_of(charge) if charge is not None else None
            if owner is not None and owner < seq and self.store.inflow(owner) is not None:
                return ("fee_of", owner)
            return (FEES, seq)
        if kind == rules.DISBURSEMENT:
            return (DISBURSEMENT, seq)
        return ("other", seq)

    def apply(self, m: Movement) -> None:
        """Apply one entry's effect on this fund; entries must come in seq order."""
        if m.fund_delta == 0:
            return
        group, target = self._group(m)
        if group == "donation":
            if target == m.seq:
                self._donation(m.seq, -m.fund_delta)
            elif m.fund_delta > 0:
                self._take_back(target, m.fund_delta, m.occurred_at)
            else:
                self._give_back(target, -m.fund_delta)
        elif group == "fee_of":
            if m.fund_delta > 0:
                self._fee(target, m.fund_delta, m.occurred_at)
            else:
                self._fee_reduced(target, -m.fund_delta)
        elif group in (DISBURSEMENT, FEES):
            if m.fund_delta > 0:
                self._outflow_up(target, group, m.fund_delta, m.occurred_at)
            else:
                self._outflow_down(target, -m.fund_delta)

    def gift(self, seq: int, gross: int) -> None:
        """A donation's own movement: what :meth:`apply` does for it, without the lookups
        (a replay of a million gifts spends most of its time here)."""
        self._donation(seq, gross)

    def own_fee(self, donation: int, amount: int) -> bool:
        """Take a fee the gift bears from it whole, if it has that much left (then no
        outflow is made and the fee's time is not needed); False leaves it to :meth:`apply`."""
        inflow = self._inflow(donation)
        if amount <= 0 or inflow.remaining < amount:
            return False
        inflow.own_fees += amount
        inflow.remaining -= amount
        self.store.inflow_changed(inflow)
        return True

    # ---------------------------------------------------------------- the rules

    def _donation(self, seq: int, gross: int) -> None:
        self.store.add_inflow(InflowState(seq, gross, 0, 0, gross))
        self._cover()

    def _take_back(self, donation: int, amount: int, at: dt.datetime) -> None:
        inflow = self._inflow(donation)
        inflow.taken_back += amount
        take = min(inflow.remaining, amount)
        inflow.remaining -= take
        rest = amount - take
        for outflow_seq, paid in sorted(self.store.paid_by(donation).items(), reverse=True):
            if rest == 0:
                break
            undo = min(paid, rest)
            self.store.allocate(donation, outflow_seq, -undo)
            outflow = self._outflow(outflow_seq)
            outflow.uncovered += undo
            self.store.outflow_changed(outflow)
            rest -= undo
        if rest:
            fees = min(rest, inflow.own_fees)
            inflow.own_fees -= fees
            rest -= fees
            self.store.inflow_changed(inflow)
            if rest:
                raise FifoError(f"seq {donation}: more was taken back than the gift brought")
            if fees:
                self._outflow_up(donation, FEES, fees, at)
        self.store.inflow_changed(inflow)
        self._cover()

    def _give_back(self, donation: int, amount: int) -> None:
        inflow = self._inflow(donation)
        inflow.taken_back -= amount
        inflow.remaining += amount
        self.store.inflow_changed(inflow)
        self._cover()

    def _fee(self, donation: int, amount: int, at: dt.datetime) -> None:
        inflow = self._inflow(donation)
        paid = min(amount, inflow.remaining)
        inflow.own_fees += paid
        inflow.remaining -= paid
        self.store.inflow_changed(inflow)
        if amount > paid:
            self._outflow_up(donation, FEES, amount - paid, at)

    def _fee_reduced(self, donation: int, amount: int) -> None:
        excess = self.store.outflow(donation)
        if excess is not None and excess.amount > 0:
            less = min(excess.amount, amount)
            self._outflow_down(donation, less)
            amount -= less
        if amount:
            inflow = self._inflow(donation)
            inflow.own_fees -= amount
            inflow.remaining += amount
            self.store.inflow_changed(inflow)
            self._cover()

    def _outflow_up(self, seq: int, kind: str, amount: int, at: dt.datetime) -> None:
        outflow = self.store.outflow(seq)
        if outflow is None:
            outflow = OutflowState(seq, kind, 0, 0, at)
            self.store.add_outflow(outflow)
        outflow.amount += amount
        self._fund(outflow, amount)

    def _outflow_down(self, seq: int, amount: int) -> None:
        outflow = self._outflow(seq)
        outflow.amount -= amount
        unpaid = min(outflow.uncovered, amount)
        outflow.uncovered -= unpaid
        rest = amount - unpaid
        self.store.outflow_changed(outflow)
        for donation_seq, paid in sorted(self.store.paid_to(seq).items(), reverse=True):
            if rest == 0:
                break
            back = min(paid, rest)
            self.store.allocate(donation_seq, seq, -back)
            inflow = self._inflow(donation_seq)
            inflow.remaining += back
            self.store.inflow_changed(inflow)
            rest -= back
        if rest:
            raise FifoError(f"seq {seq}: more was returned than the outflow cost")
        self._cover()

    def _fund(self, outflow: OutflowState, amount: int) -> None:
        """Pay ``amount`` of ``outflow`` from the oldest gifts with money left."""
        need = amount
        while need:
            inflow = self.store.oldest_with_money()
            if inflow is None:
                break
            take = min(inflow.remaining, need)
            inflow.remaining -= take
            self.store.inflow_changed(inflow)
            self.store.allocate(inflow.seq, outflow.seq, take)
            need -= take
        outflow.uncovered += need
        self.store.outflow_changed(outflow)

    def _cover(self) -> None:
        """Money came back to some gift: pay what is uncovered, oldest outflow first."""
        while True:
            outflow = self.store.oldest_uncovered()
            if outflow is None or self.store.oldest_with_money() is None:
                return
            unpaid, outflow.uncovered = outflow.uncovered, 0
            self._fund(outflow, unpaid)

    def _inflow(self, seq: int) -> InflowState:
        inflow = self.store.inflow(seq)
        if inflow is None:
            raise FifoError(f"seq {seq}: no such gift in this fund")
        return inflow

    def _outflow(self, seq: int) -> OutflowState:
        outflow = self.store.outflow(seq)
        if outflow is None:
            raise FifoError(f"seq {seq}: no such outflow in this fund")
        return outflow


class Queue:
    """Seqs ordered oldest first, with lazy removal: ``valid(seq)`` says who still belongs."""

    def __init__(self, valid: Callable[[int], bool]) -> None:
        self._heap: list[int] = []
        self._members: set[int] = set()
        self._valid = valid

    def push(self, seq: int) -> None:
        if seq not in self._members:
            self._members.add(seq)
            heapq.heappush(self._heap, seq)

    def first(self) -> int | None:
        while self._heap:
            seq = self._heap[0]
            if self._valid(seq):
                return seq
            heapq.heappop(self._heap)
            self._members.discard(seq)
        return None


class MemoryStore:
    """A book held entirely in memory: replays, verification and the pure allocator."""

    def __init__(self) -> None:
        self.inflows: dict[int, InflowState] = {}
        self.outflows: dict[int, OutflowState] = {}
        self.by_donation: dict[int, dict[int, int]] = {}
        self.by_outflow: dict[int, dict[int, int]] = {}
        self._with_money = Queue(lambda s: self.inflows[s].remaining > 0)
        self._uncovered = Queue(lambda s: self.outflows[s].uncovered > 0)

    def inflow(self, seq: int) -> InflowState | None:
        return self.inflows.get(seq)

    def add_inflow(self, inflow: InflowState) -> None:
        self.inflows[inflow.seq] = inflow
        self.inflow_changed(inflow)

    def inflow_changed(self, inflow: InflowState) -> None:
        if inflow.remaining > 0:
            self._with_money.push(inflow.seq)

    def oldest_with_money(self) -> InflowState | None:
        seq = self._with_money.first()
        return None if seq is None else self.inflows[seq]

    def outflow(self, seq: int) -> OutflowState | None:
        return self.outflows.get(seq)

    def add_outflow(self, outflow: OutflowState) -> None:
        self.outflows[outflow.seq] = outflow
        self.outflow_changed(outflow)

    def outflow_changed(self, outflow: OutflowState) -> None:
        if outflow.uncovered > 0:
            self._uncovered.push(outflow.seq)

    def oldest_uncovered(self) -> OutflowState | None:
        seq = self._uncovered.first()
        return None if seq is None else self.outflows[seq]

    def paid_by(self, donation_seq: int) -> dict[int, int]:
        return dict(self.by_donation.get(donation_seq, {}))

    def paid_to(self, outflow_seq: int) -> dict[int, int]:
        return dict(self.by_outflow.get(outflow_seq, {}))

    def allocate(self, donation_seq: int, outflow_seq: int, delta: int) -> None:
        _add(self.by_donation.setdefault(donation_seq, {}), outflow_seq, delta)
        _add(self.by_outflow.setdefault(outflow_seq, {}), donation_seq, delta)

    def allocations(self) -> list[tuple[int, int, int]]:
        """(donation seq, outflow seq, amount), ordered by donation then outflow."""
        return [
            (donation, outflow, amount)
            for donation, paid in sorted(self.by_donation.items())
            for outflow, amount in sorted(paid.items())
        ]


def _add(amounts: dict[int, int], key: int, delta: int) -> None:
    total = amounts.get(key, 0) + delta
    if total < 0:
        raise FifoError(f"an allocation to seq {key} would become negative")
    if total:
        amounts[key] = total
    else:
        amounts.pop(key, None)


def replay(movements: list[Movement]) -> tuple[Book, MemoryStore]:
    """Apply one fund's movements, in seq order, to a fresh in-memory book."""
    store = MemoryStore()
    entries: dict[int, tuple[str, int | None, str | None]] = {}
    donations: dict[str, int] = {}
    book = Book(store, entries.get, donations.get)
    for m in sorted(movements, key=lambda x: x.seq):
        entries[m.seq] = (m.kind, m.reverses, m.ref)
        if m.kind == rules.DONATION:
            charge = charge_of(m.ref, rules.DONATION)
            if charge is not None:
                donations[charge] = m.seq
        book.apply(m)
    return book, store
