"""Where donations went: first-in-first-out allocation of a campaign's gifts to its spending.

Everything here is derived from the ledger's postings to the campaign's fund, so anyone with
the published ledger can recompute it:

* **Inflows** are donation entries in ``seq`` order, each net of what was taken back from it
  (refunds and disputes naming it, disputes won back, and reversals of any of these).
* A donation's own fees (the processor and platform fee entries whose reference names the
  same charge, ``<charge>:processor_fee`` beside ``<charge>:donation``) are paid from that
  donation first: they were the cost of receiving it.
* **Outflows** are disbursement entries in ``seq`` order net of their reversals, plus fees
  that belong to no donation (e.g. a dispute fee) or exceed it (a refunded gift's fees).
* Each outflow takes money from the oldest donations that still have some left.

Invariants (tested with generated ledgers): no donation gives more than it brought in, no
outflow receives more than it cost, outflows not covered by donations are reported as
``uncovered`` (a campaign that refunded after paying out), and the money left across all
donations minus ``uncovered`` is exactly the fund's balance.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger import rules
from giving.ledger.models import LedgerEntry, LedgerPosting

FEES = "fees"
DISBURSEMENT = rules.DISBURSEMENT
_FEE_KINDS = (rules.PROCESSOR_FEE, rules.PLATFORM_FEE)
_TAKE_BACK_KINDS = (rules.REFUND, rules.DISPUTE, rules.DISPUTE_WON)


@dataclass(frozen=True, slots=True)
class FundMovement:
    """One ledger entry's net effect on a campaign's fund in one currency (out is positive)."""

    seq: int
    kind: str
    reverses: int | None
    ref: str | None
    occurred_at: dt.datetime
    fund_delta: int


@dataclass(frozen=True, slots=True)
class Inflow:
    """A donation as it stands now, in minor units."""

    seq: int
    occurred_at: dt.datetime
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


def _charge_of(ref: str | None, kind: str) -> str | None:
    suffix = f":{kind}"
    if ref is None or not ref.endswith(suffix):
        return None
    return ref[: -len(suffix)]


def allocate(movements: Sequence[FundMovement]) -> FifoResult:
    """Allocate inflows to outflows first-in-first-out (see the module docstring)."""
    by_seq = {m.seq: m for m in movements}
    donation_by_charge: dict[str, int] = {}
    for m in movements:
        charge = _charge_of(m.ref, rules.DONATION) if m.kind == rules.DONATION else None
        if charge is not None:
            donation_by_charge[charge] = m.seq

    def group_of(m: FundMovement, depth: int = 0) -> tuple[str, int]:
        if depth > 3:  # reversals of reversals are refused by the ledger; never loop
            return ("other", m.seq)
        if m.kind in (rules.REVERSAL, *_TAKE_BACK_KINDS):
            target = by_seq.get(m.reverses) if m.reverses is not None else None
            if target is None:
                return ("other", m.seq)
            return group_of(target, depth + 1)
        if m.kind == rules.DONATION:
            return ("donation", m.seq)
        if m.kind in _FEE_KINDS:
            owner = donation_by_charge.get(_charge_of(m.ref, m.kind) or "")
            return ("fee_of", owner) if owner is not None else (FEES, m.seq)
        if m.kind == rules.DISBURSEMENT:
            return (DISBURSEMENT, m.seq)
        return ("other", m.seq)

    totals: dict[tuple[str, int], int] = defaultdict(int)
    gross: dict[int, int] = defaultdict(int)
    for m in movements:
        key = group_of(m)
        totals[key] += m.fund_delta
        if m.kind == rules.DONATION:
            gross[m.seq] -= m.fund_delta

    result = FifoResult()
    pending_outflows: list[Outflow] = []
    for m in sorted(movements, key=lambda x: x.seq):
        if m.kind != rules.DONATION:
            continue
        net = max(-totals[("donation", m.seq)], 0)
        own = max(totals.get(("fee_of", m.seq), 0), 0)
        paid = min(own, net)
        result.inflows[m.seq] = Inflow(m.seq, m.occurred_at, gross[m.seq], gross[m.seq] - net, paid)
        if own > paid:
            pending_outflows.append(Outflow(m.seq, FEES, own - paid, m.occurred_at))
    for (group, seq), total in totals.items():
        if group in (DISBURSEMENT, FEES) and total > 0:
            pending_outflows.append(Outflow(seq, group, total, by_seq[seq].occurred_at))
    result.outflows = sorted(pending_outflows, key=lambda o: (o.seq, o.kind))

    queue = [[seq, inflow.available] for seq, inflow in sorted(result.inflows.items())]
    head = 0
    for outflow in result.outflows:
        need = outflow.amount
        while need > 0 and head < len(queue):
            seq, left = queue[head]
            take = min(left, need)
            if take > 0:
                result.allocations.append(Allocation(seq, outflow.seq, outflow.kind, take))
                queue[head][1] = left - take
                need -= take
            if queue[head][1] == 0:
                head += 1
        if need > 0:
            result.uncovered[outflow.seq] = need
    return result


def load_movements(session: Session, campaign_public_id: str, currency: str) -> list[FundMovement]:
    """Every entry of the campaign that touched its fund in ``currency``, in seq order."""
    fund = rules.fund_account(campaign_public_id)
    rows = session.execute(
        sa.select(
            LedgerEntry.seq,
            LedgerEntry.kind,
            LedgerEntry.reverses,
            LedgerEntry.ref,
            LedgerEntry.occurred_at,
            sa.func.sum(LedgerPosting.amount),
        )
        .join(LedgerPosting, LedgerPosting.entry_seq == LedgerEntry.seq)
        .where(
            LedgerEntry.campaign == campaign_public_id,
            LedgerPosting.account == fund,
            LedgerPosting.currency == currency,
        )
        .group_by(
            LedgerEntry.seq,
            LedgerEntry.kind,
            LedgerEntry.reverses,
            LedgerEntry.ref,
            LedgerEntry.occurred_at,
        )
        .order_by(LedgerEntry.seq)
    )
    return [
        FundMovement(int(seq), kind, reverses, ref, occurred_at, int(total))
        for seq, kind, reverses, ref, occurred_at, total in rows
    ]


def allocate_campaign(session: Session, campaign_public_id: str, currency: str) -> FifoResult:
    return allocate(load_movements(session, campaign_public_id, currency))


def spent_per_disbursement(result: FifoResult) -> dict[int, int]:
    """Net amount of each live disbursement entry, keyed by its seq."""
    return {o.seq: o.amount for o in result.outflows if o.kind == DISBURSEMENT}
