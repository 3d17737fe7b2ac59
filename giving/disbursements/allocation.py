"""Where donations went: first-in-first-out allocation of a campaign's gifts to its spending.

The rules are giving/ledger/fifo.py's, applied once per entry as the sequencer seals it and
stored (giving/ledger/figures.py), so a receipt or a campaign page reads a few rows rather
than replaying the campaign. Everything is derived from the ledger's postings to the
campaign's fund, so anyone with the published ledger can recompute it:

* **Inflows** are donation entries, each net of what was taken back from it (refunds and
  disputes naming it, disputes won back, and reversals of any of these).
* A donation's own fees (the processor and platform fee entries whose reference names the
  same charge, ``<charge>:processor_fee`` beside ``<charge>:donation``) are paid from that
  donation first: they were the cost of receiving it.
* **Outflows** are disbursement entries net of their reversals, plus fees that belong to no
  donation (e.g. a dispute fee) or exceed it (a refunded gift's fees).
* Each outflow takes money from the oldest donations that still have some left, as it
  happens; a gift taken back after it was spent leaves that spending to later gifts.

Invariants (tested with generated ledgers): no donation gives more than it brought in, no
outflow receives more than it cost, outflows not covered by donations are reported as
``uncovered`` (a campaign that refunded after paying out), and the money left across all
donations minus ``uncovered`` is exactly the fund's balance.

``allocate`` replays a list of movements in memory (the reference, used by tests and
checks); ``allocate_campaign`` reads a whole campaign's stored book, for reports and tests;
pages read single rows through giving/disbursements/queries.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger import fifo
from giving.ledger.models import FifoAllocation, FifoInflow, FifoOutflow

FEES = fifo.FEES
DISBURSEMENT = fifo.DISBURSEMENT
FundMovement = fifo.Movement


@dataclass(frozen=True, slots=True)
class Inflow:
    """A donation as it stands now, in minor units."""

    seq: int
    gross: int
    taken_back: int
    own_fees: int  # the part of its own fees it paid (never more than it brought in)

    @property
    def net(self) -> int:
        return self.gross - self.taken_back

    @property
    def available(self) -> int:
        """What the donation brought the campaign after refunds and its own fees."""
        return self.net - self.own_fees


@dataclass(frozen=True, slots=True)
class Outflow:
    """Money that left the fund: a disbursement (net of reversal) or fees no donation bore."""

    seq: int
    kind: str  # DISBURSEMENT or FEES
    amount: int
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Allocation:
    donation_seq: int
    outflow_seq: int
    outflow_kind: str
    amount: int


@dataclass
class FifoResult:
    inflows: dict[int, Inflow] = field(default_factory=dict)
    outflows: list[Outflow] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    uncovered: dict[int, int] = field(default_factory=dict)  # outflow seq → amount

    def for_donation(self, seq: int) -> list[Allocation]:
        return [a for a in self.allocations if a.donation_seq == seq]

    def for_outflow(self, seq: int) -> list[Allocation]:
        return [a for a in self.allocations if a.outflow_seq == seq]

    def remaining(self, donation_seq: int) -> int:
        """What is left of a donation after its fees and the outflows it paid for."""
        inflow = self.inflows[donation_seq]
        return inflow.available - sum(a.amount for a in self.for_donation(donation_seq))

    @property
    def held(self) -> int:
        """The fund's balance: money left in donations less outflows nobody's gift covered."""
        left = sum(self.remaining(seq) for seq in self.inflows)
        return left - sum(self.uncovered.values())


def allocate(movements: Sequence[FundMovement]) -> FifoResult:
    """Replay one fund's movements through the FIFO rules (see the module docstring)."""
    _, store = fifo.replay(list(movements))
    return _result(
        store.inflows.values(),
        store.outflows.values(),
        store.allocations(),
    )


def _result(
    inflows: Iterable[fifo.InflowState],
    outflows: Iterable[fifo.OutflowState],
    allocations: Iterable[tuple[int, int, int]],
) -> FifoResult:
    result = FifoResult()
    kinds: dict[int, str] = {}
    for i in sorted(inflows, key=lambda x: x.seq):
        result.inflows[i.seq] = Inflow(i.seq, i.gross, i.taken_back, i.own_fees)
    for o in sorted(outflows, key=lambda x: x.seq):
        kinds[o.seq] = o.kind
        if o.amount > 0:
            result.outflows.append(Outflow(o.seq, o.kind, o.amount, o.occurred_at))
        if o.uncovered > 0:
            result.uncovered[o.seq] = o.uncovered
    result.allocations = [
        Allocation(donation, outflow, kinds[outflow], amount)
        for donation, outflow, amount in sorted(allocations)
    ]
    return result


def allocate_campaign(session: Session, campaign_public_id: str, currency: str) -> FifoResult:
    """The stored book of one campaign's fund in ``currency``, whole."""
    inflows = [
        fifo.InflowState(
            int(r.seq), int(r.gross), int(r.taken_back), int(r.own_fees), int(r.remaining)
        )
        for r in session.scalars(
            sa.select(FifoInflow).where(
                FifoInflow.campaign == campaign_public_id, FifoInflow.currency == currency
            )
        )
    ]
    outflows = [
        fifo.OutflowState(int(r.seq), r.kind, int(r.amount), int(r.uncovered), r.occurred_at)
        for r in session.scalars(
            sa.select(FifoOutflow).where(
                FifoOutflow.campaign == campaign_public_id, FifoOutflow.currency == currency
            )
        )
    ]
    seqs = [i.seq for i in inflows]
    allocations: list[tuple[int, int, int]] = []
    for start in range(0, len(seqs), 1000):
        allocations.extend(
            (int(d), int(o), int(a))
            for d, o, a in session.execute(
                sa.select(
                    FifoAllocation.donation_seq, FifoAllocation.outflow_seq, FifoAllocation.amount
                ).where(FifoAllocation.donation_seq.in_(seqs[start : start + 1000]))
            )
        )
    return _result(inflows, outflows, allocations)
