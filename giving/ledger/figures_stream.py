"""The FIFO book and the totals replayed in one streaming pass, holding only gifts still in play.

``check_figures`` (giving/ledger/figures_replay.py) must replay every entry, but a replay that
keeps every gift, every entry's kind and every allocation grows to a gigabyte at a million
gifts. Here the postings to funds stream in seq order from one merge join, and each book
(fund and currency) keeps only what a later entry can still touch:

* a gift while it holds money (FIFO spends it later), and until the last entry that takes
  money back from it, reverses its fee or returns spending it paid for (all known in
  advance from the few entries that name another, :class:`Links`);
* the allocations of gifts that will be taken back and of outflows that will be reversed,
  the only ones a rule reads again;
* every outflow (disbursements, and fees no gift bore: few beside the gifts), since any
  take-back may uncover one.

A gift's own fee is sealed with it, so the first pass remembers each gift's charge for a
few thousand seqs only; a fee that comes later, or after its gift was spent and let go,
makes :func:`replay_stream` start again in a careful pass that asks the database for each
gift's last fee (an index probe per gift) and keeps the gift until then.

A gift or allocation that leaves memory is not compared row by row: it is added to a keyed
fingerprint (:class:`Fingerprint`), and the stored table, streamed once, must give the same
sum. The key is drawn afresh for every check, so no stored change can be made to cancel
out except by chance (about 2⁻⁸⁹ per table).

Memory, measured with tracemalloc: about 240 bytes per gift held (its state, its dict slot,
its place in the oldest-with-money queue), plus per gift that a later entry takes back from
a small dict of what it paid for; about 1.4 MB for the first pass's window of charges; the
entries that name another and their targets (~100 bytes each); every outflow (~300 bytes);
and one page of 5,000 streamed rows. Nothing grows with the gifts already spent: on the
benchmark ledger of 520,000 gifts (1.3 million entries, bench/figures.py) at most about
60,000 gifts were held at once, those whose money was not yet spent (about 14 MB), and the
process peaked near 110 MB, most of it the interpreter and libraries. A campaign that never
spends holds all its gifts: 240 bytes each is then the price of FIFO.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger import rules
from giving.ledger.balances import FIELD_OF_KIND
from giving.ledger.fifo import (
    FEE_KINDS,
    Book,
    FifoError,
    InflowState,
    Movement,
    OutflowState,
    Queue,
    charge_of,
)
from giving.ledger.figures import TOTAL_FIELDS
from giving.ledger.models import LedgerEntry, LedgerPosting

_PRIME = (1 << 89) - 1  # a Mersenne prime: fingerprints are sums modulo it
_CHUNK = 12  # bytes of hash per coefficient (96 bits, reduced modulo the 89-bit prime)
_STREAM = {"stream_results": True, "yield_per": 5000}
DONATION, REVERSAL = rules.DONATION, rules.REVERSAL
_DONATION_SUFFIX = f":{rules.DONATION}"
_FEE_WINDOW = 4096  # seqs for which a gift's charge is remembered, for its own fees
_ENTRIES = cast(sa.Table, LedgerEntry.__table__)
_POSTINGS = cast(sa.Table, LedgerPosting.__table__)


class Fingerprint:
    """A keyed sum of hashes modulo a prime: equal for two sets of rows only if they are equal.

    A gift leaves the replay once its row is final, so its whole row is hashed once (the
    sum of such hashes is a multiset hash). An allocation changes by deltas, some after it
    was first made, so each delta adds ``delta × hash(donation, outflow)``: the sum is then
    linear in the amounts and nothing needs keeping. With the key secret and fresh, two
    different tables give the same sum with probability about 2⁻⁸⁹.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._hash = hashlib.blake2b(key=secret, digest_size=_CHUNK)
        self._sum = 0

    def blank(self) -> Fingerprint:
        """An empty fingerprint under the same key, for the stored side."""
        return Fingerprint(self._secret)

    def add_inflow(
        self, seq: int, campaign: str, currency: str, values: tuple[int, int, int, int]
    ) -> None:
        hashed = self._hash.copy()
        hashed.update(
            b"%d %s %s %d %d %d %d" % (seq, campaign.encode(), currency.encode(), *values)
        )
        self._sum += int.from_bytes(hashed.digest(), "little")

    def add_allocation(self, donation_seq: int, outflow_seq: int, amount: int) -> None:
        hashed = self._hash.copy()
        hashed.update(b"%d %d" % (donation_seq, outflow_seq))
        self._sum += amount * int.from_bytes(hashed.digest(), "little")

    @property
    def value(self) -> int:
        return self._sum % _PRIME


@dataclass
class Links:
    """Entries that name another (take-backs and reversals) and the entries they name.

    Few beside the gifts, and all a rule needs to look up: ``last_touch`` says, for each
    entry so named, the last seq that reaches it along a chain of ``reverses``, so a gift or
    outflow is kept until then; ``fee_owners`` maps the charge of each reversed fee to its
    donation.
    """

    entries: dict[int, tuple[str, int | None, str | None]] = field(default_factory=dict)
    last_touch: dict[int, int] = field(default_factory=dict)
    fee_owners: dict[str, int] = field(default_factory=dict)

    def entry(self, seq: int) -> tuple[str, int | None, str | None] | None:
        return self.entries.get(seq)


def load_links(session: Session) -> Links:
    links = Links()
    entry = _ENTRIES.c
    columns = (entry.seq, entry.kind, entry.reverses, entry.ref)
    wanted: set[int] = set()
    with session.execute(
        sa.select(*columns).where(entry.reverses.is_not(None)), execution_options=_STREAM
    ) as rows:
        for seq, kind, reverses, ref in rows:
            links.entries[int(seq)] = (kind, reverses, ref)
            wanted.add(int(reverses))
    while wanted := wanted - links.entries.keys():
        batch = sorted(wanted)
        wanted = set()
        for start in range(0, len(batch), 500):
            for seq, kind, reverses, ref in session.execute(
                sa.select(*columns).where(entry.seq.in_(batch[start : start + 500]))
            ):
                links.entries[int(seq)] = (kind, reverses, ref)
                if reverses is not None:
                    wanted.add(int(reverses))
    for seq, (_, reverses, _) in links.entries.items():
        target = reverses
        for _ in range(len(links.entries)):  # a chain is short; the bound only guards a cycle
            if target is None:
                break
            links.last_touch[target] = max(links.last_touch.get(target, -1), seq)
            found = links.entries.get(target)
            target = found[1] if found is not None else None
    charges = {
        charge: target
        for target in links.last_touch
        if (found := links.entries.get(target)) is not None
        and found[0] in FEE_KINDS
        and (charge := charge_of(found[2], found[0])) is not None
    }
    refs = sorted(f"{charge}:{rules.DONATION}" for charge in charges)
    for start in range(0, len(refs), 500):
        for seq, ref in session.execute(
            sa.select(entry.seq, entry.ref).where(entry.ref.in_(refs[start : start + 500]))
        ):
            charge = ref[: -len(rules.DONATION) - 1]
            links.fee_owners[charge] = int(seq)
            touch = links.last_touch[charges[charge]]
            links.last_touch[int(seq)] = max(links.last_touch.get(int(seq), -1), touch)
    return links


def fund_movements(session: Session, *, careful: bool) -> sa.Result[Any]:
    """Each posting to a fund, in seq and line order, with its entry and whether the fund is
    the entry's own (the replay sums an entry's own-fund postings per currency).

    Both tables are read in primary-key order and merge-joined, so rows stream without a
    sort. In the careful pass a donation also carries the seq of its last own fee, so its
    gift is kept until then however early it is spent (an index probe per gift, which the
    first pass does without; see :func:`replay_stream`).
    """
    entry, posting = _ENTRIES.c, _POSTINGS.c
    fee_until: Any = sa.null()
    if careful:
        fee = _ENTRIES.alias("fee").c
        charge = sa.func.substr(entry.ref, 1, sa.func.length(entry.ref) - len(_DONATION_SUFFIX))
        fee_until = sa.case(
            (
                sa.and_(entry.kind == rules.DONATION, entry.ref.like(f"%{_DONATION_SUFFIX}")),
                sa.select(sa.func.max(fee.seq))
                .where(fee.ref.in_([charge + f":{kind}" for kind in FEE_KINDS]))
                .scalar_subquery(),
            ),
            else_=None,
        )
    query = (
        sa.select(
            entry.seq,
            entry.campaign,
            entry.kind,
            entry.reverses,
            entry.ref,
            # Gifts and their fees rarely need their time (only a fee beyond its gift makes
            # an outflow): it is read then, not parsed for every row.
            sa.case((entry.kind.in_((rules.DONATION, *FEE_KINDS)), None), else_=entry.occurred_at),
            posting.currency,
            posting.amount,
            # Compared here rather than joined on, so the planner keeps the merge join.
            posting.account == sa.literal("campaign:") + entry.campaign + sa.literal(":fund"),
            fee_until,
        )
        .select_from(_POSTINGS.join(_ENTRIES, entry.seq == posting.entry_seq))
        .where(posting.account.like("campaign:%:fund"))
        .order_by(posting.entry_seq, posting.line)
    )
    return session.execute(query, execution_options=_STREAM)


class StreamStore:
    """One book's state during the streaming replay (a :class:`fifo.BookStore`)."""

    def __init__(self, replay: StreamReplay, campaign: str, currency: str) -> None:
        self._replay = replay
        self.campaign = campaign
        self.currency = currency
        self.inflows: dict[int, InflowState] = {}
        self.outflows: dict[int, OutflowState] = {}
        self._paid_by: dict[int, dict[int, int]] = {}  # gifts some entry takes back from
        self._paid_to: dict[int, dict[int, int]] = {}  # outflows some entry reverses
        self._with_money = Queue(lambda s: s in self.inflows and self.inflows[s].remaining > 0)
        self._uncovered = Queue(lambda s: self.outflows[s].uncovered > 0)
        self.keep_until: dict[int, int] = {}
        self.drained: list[int] = []
        self.gifts = 0

    def inflow(self, seq: int) -> InflowState | None:
        return self.inflows.get(seq)

    def add_inflow(self, inflow: InflowState) -> None:
        self.gifts += 1
        self.inflows[inflow.seq] = inflow
        touch = self._replay.links.last_touch.get(inflow.seq)
        if touch is not None:
            self._paid_by[inflow.seq] = {}
            self.keep(inflow.seq, touch)
        self.inflow_changed(inflow)

    def keep(self, seq: int, until: int) -> None:
        if until > self.keep_until.get(seq, -1):
            self.keep_until[seq] = until
            heapq.heappush(self._replay.expiry, (until, self.campaign, self.currency, seq))

    def inflow_changed(self, inflow: InflowState) -> None:
        if inflow.remaining > 0:
            self._with_money.push(inflow.seq)
        else:
            self.drained.append(inflow.seq)

    def oldest_with_money(self) -> InflowState | None:
        seq = self._with_money.first()
        return None if seq is None else self.inflows[seq]

    def outflow(self, seq: int) -> OutflowState | None:
        return self.outflows.get(seq)

    def add_outflow(self, outflow: OutflowState) -> None:
        self.outflows[outflow.seq] = outflow
        if outflow.seq in self._replay.links.last_touch:
            self._paid_to.setdefault(outflow.seq, {})
        self.outflow_changed(outflow)

    def outflow_changed(self, outflow: OutflowState) -> None:
        if outflow.uncovered > 0:
            self._uncovered.push(outflow.seq)

    def oldest_uncovered(self) -> OutflowState | None:
        seq = self._uncovered.first()
        return None if seq is None else self.outflows[seq]

    def paid_by(self, donation_seq: int) -> dict[int, int]:
        return dict(self._paid_by.get(donation_seq, {}))

    def paid_to(self, outflow_seq: int) -> dict[int, int]:
        return dict(self._paid_to.get(outflow_seq, {}))

    def allocate(self, donation_seq: int, outflow_seq: int, delta: int) -> None:
        self._replay.allocations.add_allocation(donation_seq, outflow_seq, delta)
        by_gift = self._paid_by.get(donation_seq)
        if by_gift is not None:
            _add(by_gift, outflow_seq, delta)
        by_outflow = self._paid_to.get(outflow_seq)
        if by_outflow is not None:
            _add(by_outflow, donation_seq, delta)
            # Reversing this outflow will return money to the gift: keep the gift till then.
            self.keep(donation_seq, self._replay.links.last_touch[outflow_seq])

    def release(self, seq: int, now: int) -> None:
        """Forget a gift that holds no money and that no later entry touches."""
        inflow = self.inflows.get(seq)
        if inflow is None or inflow.remaining > 0 or self.keep_until.get(seq, -1) > now:
            return
        del self.inflows[seq]
        self.keep_until.pop(seq, None)
        self._paid_by.pop(seq, None)
        self._replay.fingerprint(self, inflow)

    def uncovered(self) -> int:
        return sum(o.uncovered for o in self.outflows.values())


def _add(amounts: dict[int, int], key: int, delta: int) -> None:
    total = amounts.get(key, 0) + delta
    if total < 0:
        raise FifoError(f"an allocation to seq {key} would become negative")
    if total:
        amounts[key] = total
    else:
        amounts.pop(key, None)


class _Later:
    """The time of entry ``seq``, not read yet: a fee's time is needed only if it makes an
    outflow, and then it is read after the pass, for those few, in one query."""

    __slots__ = ("seq",)

    def __init__(self, seq: int) -> None:
        self.seq = seq


class _NeedsCareful(Exception):
    """The first pass met a fee it cannot place without the careful pass."""


def replay_stream(session: Session) -> StreamReplay:
    """Replay the ledger once, or twice if the first pass cannot be sure.

    The first pass remembers a gift's charge for a few thousand seqs, since a gift's fees
    are sealed with it. A fee whose gift it no longer knows, or whose gift it already let go
    (spent before the fee came), makes it start again in the careful pass, which asks the
    database for each gift's last fee. Neither pass keeps more than the gifts in play.
    """
    links = load_links(session)
    try:
        return StreamReplay(session, links, careful=False).run()
    except _NeedsCareful:
        return StreamReplay(session, links, careful=True).run()


class StreamReplay:
    """Replays every fund movement once: totals per book and the FIFO books, streaming."""

    def __init__(self, session: Session, links: Links, *, careful: bool) -> None:
        secret = os.urandom(32)
        self.inflows = Fingerprint(secret)
        self.allocations = Fingerprint(secret[::-1])
        self.links = links
        self.careful = careful
        self.totals: dict[tuple[str, str], list[int]] = {}
        self.stores: dict[tuple[str, str], StreamStore] = {}
        self.expiry: list[tuple[int, str, str, int]] = []
        # charge -> (its donation, book): in the careful pass while a fee is due, in the
        # first pass for _FEE_WINDOW seqs.
        self._charges: dict[str, tuple[int, tuple[str, str]]] = {}
        self._charge_expiry: deque[tuple[int, str]] = deque()  # first pass
        self._fee_heap: list[tuple[int, str]] = []  # careful pass: fees come in any order
        self._book_state: dict[tuple[str, str], tuple[list[int], StreamStore, Book]] = {}
        self._unplaced: list[
            tuple[int, str, str]
        ] = []  # fees with no known gift: seq, campaign, charge
        self._session = session
        self.peak_gifts = 0
        index = {name: i for i, name in enumerate(TOTAL_FIELDS)}
        self._available = index["available"]
        self._gross = index["gross_raised"]
        self._uncovered = index["uncovered"]
        self._fields = {kind: (index[name], sign) for kind, (name, sign) in FIELD_OF_KIND.items()}

    def _donation_of(self, charge: str) -> int | None:
        found = self._charges.get(charge)
        return found[0] if found is not None else self.links.fee_owners.get(charge)

    def run(self) -> StreamReplay:
        movements: Any
        entry: Any = None
        sums: dict[str, int] | None = None  # only for an entry with several fund postings
        with fund_movements(self._session, careful=self.careful) as movements:
            for row in movements:
                if not row[8]:
                    continue  # a posting to another campaign's fund: not this entry's money
                if entry is not None:
                    if row[0] == entry[0]:
                        if sums is None:
                            sums = {entry[6]: entry[7]}
                        sums[row[6]] = sums.get(row[6], 0) + row[7]
                        continue
                    self._entry(entry, sums)
                entry, sums = row, None
            if entry is not None:
                self._entry(entry, sums)
        if self._unplaced:
            self._check_unplaced()
        self._resolve_times()
        self.peak_gifts = max(self.peak_gifts, self._held())
        for store in self.stores.values():
            for inflow in store.inflows.values():
                self.fingerprint(store, inflow)
            totals = self.totals[(store.campaign, store.currency)]
            totals[self._uncovered] = store.uncovered()
        return self

    def _entry(self, row: Any, sums: dict[str, int] | None) -> None:
        if sums is None:
            if row[7]:
                self._movement(row, row[6], row[7])
            return
        for currency in sorted(sums):
            if sums[currency]:
                self._movement(row, currency, sums[currency])

    def _movement(self, row: Any, currency: str, delta: int) -> None:
        seq, campaign, kind, reverses, ref, at, _, _, _, fee_until = row
        key = (campaign, currency)
        book_state = self._book_state.get(key)
        if book_state is None:
            store = self.stores[key] = StreamStore(self, campaign, currency)
            book_state = self._book_state[key] = (
                [0] * (len(TOTAL_FIELDS) + 1),
                store,
                Book(store, self.links.entry, self._donation_of),
            )
            self.totals[key] = book_state[0]
        totals, store, book = book_state
        totals[-1] = seq
        totals[self._available] -= delta
        if kind == DONATION:
            totals[self._gross] -= delta
            book.gift(seq, -delta)
            if ref is not None and ref.endswith(_DONATION_SUFFIX):
                self._remember_charge(store, seq, ref, fee_until)
        else:
            effective = kind
            if kind == REVERSAL and reverses is not None:
                target = self.links.entries.get(reverses)
                effective = target[0] if target is not None else kind
            found = self._fields.get(effective)
            if found is not None:
                totals[found[0]] += found[1] * delta
            if not (kind in FEE_KINDS and self._own_fee(store, book, seq, kind, ref, delta)):
                when: Any = at if at is not None else _Later(seq)
                book.apply(Movement(seq, kind, reverses, ref, when, delta))
        if (
            store.drained
            or (self.expiry and self.expiry[0][0] <= seq)
            or (self._charge_expiry and self._charge_expiry[0][0] <= seq)
            or (self._fee_heap and self._fee_heap[0][0] <= seq)
        ):
            self._settle(store, seq)
        if not seq & 4095:
            self.peak_gifts = max(self.peak_gifts, self._held())

    def _remember_charge(
        self, store: StreamStore, seq: int, ref: str, fee_until: int | None
    ) -> None:
        if self.careful:
            if fee_until is None or fee_until <= seq:
                return
            store.keep(seq, fee_until)  # its own fee will come out of the gift: keep it
        else:
            fee_until = seq + _FEE_WINDOW  # rising with seq: the queue stays in order
        charge = ref[: -len(_DONATION_SUFFIX)]
        self._charges[charge] = (seq, (store.campaign, store.currency))
        if self.careful:
            heapq.heappush(self._fee_heap, (fee_until, charge))
        else:
            self._charge_expiry.append((fee_until, charge))

    def _own_fee(
        self, store: StreamStore, book: Book, seq: int, kind: str, ref: str | None, delta: int
    ) -> bool:
        """A fee its gift bears whole, applied as :meth:`Book.apply` would; False if not."""
        charge = charge_of(ref, kind)
        if charge is None:
            return False
        found = self._charges.get(charge)
        if found is None:
            if not self.careful and charge not in self.links.fee_owners:
                self._unplaced.append((seq, store.campaign, charge))
            return False
        owner, book_key = found
        if owner >= seq:
            return False
        if store.inflow(owner) is None:
            if not self.careful and book_key == (store.campaign, store.currency):
                raise _NeedsCareful  # its gift was spent and let go before the fee came
            return False
        return book.own_fee(owner, delta)

    def _check_unplaced(self) -> None:
        """Fees whose gift the first pass did not know: is any gift an earlier donation of
        the same campaign? Then the first pass may have let it go too early."""
        wanted = {
            f"{charge}{_DONATION_SUFFIX}": (seq, campaign)
            for seq, campaign, charge in self._unplaced
        }
        refs = sorted(wanted)
        for start in range(0, len(refs), 500):
            for seq, campaign, ref in self._session.execute(
                sa.select(_ENTRIES.c.seq, _ENTRIES.c.campaign, _ENTRIES.c.ref).where(
                    _ENTRIES.c.ref.in_(refs[start : start + 500])
                )
            ):
                fee_seq, fee_campaign = wanted[ref]
                if seq < fee_seq and campaign == fee_campaign:
                    raise _NeedsCareful

    def _resolve_times(self) -> None:
        """Give the outflows made by a gift's fee the fee's time, read now for those few."""
        later = {
            cast(_Later, outflow.occurred_at).seq: outflow
            for store in self.stores.values()
            for outflow in store.outflows.values()
            if isinstance(cast(Any, outflow.occurred_at), _Later)
        }
        wanted = sorted(later)
        for start in range(0, len(wanted), 500):
            for seq, at in self._session.execute(
                sa.select(_ENTRIES.c.seq, _ENTRIES.c.occurred_at).where(
                    _ENTRIES.c.seq.in_(wanted[start : start + 500])
                )
            ):
                later[seq].occurred_at = at

    def _settle(self, store: StreamStore, seq: int) -> None:
        if store.drained:
            drained, store.drained = store.drained, []
            for gift in drained:
                store.release(gift, seq)
        while self.expiry and self.expiry[0][0] <= seq:
            _, campaign, currency, gift = heapq.heappop(self.expiry)
            self.stores[(campaign, currency)].release(gift, seq)
        while self._charge_expiry and self._charge_expiry[0][0] <= seq:
            self._charges.pop(self._charge_expiry.popleft()[1], None)
        while self._fee_heap and self._fee_heap[0][0] <= seq:
            self._charges.pop(heapq.heappop(self._fee_heap)[1], None)

    def _held(self) -> int:
        return sum(len(store.inflows) for store in self.stores.values())

    def fingerprint(self, store: StreamStore, inflow: InflowState) -> None:
        self.inflows.add_inflow(
            inflow.seq,
            store.campaign,
            store.currency,
            (inflow.gross, inflow.taken_back, inflow.own_fees, inflow.remaining),
        )

    def totals_rows(self) -> Iterator[tuple[str, str, dict[str, int]]]:
        names = (*TOTAL_FIELDS, "last_seq")
        for (campaign, currency), values in sorted(self.totals.items()):
            yield campaign, currency, dict(zip(names, values, strict=True))

    @property
    def gifts(self) -> int:
        return sum(store.gifts for store in self.stores.values())
