"""The ledger's Merkle tree as stored: frontier, new subtree nodes, tree heads and proofs.

The pure RFC 9162 code is giving/ledger/merkle.py. This module stores and reads the perfect
subtree hashes in ``ledger_nodes`` (level 0 being the entries' own ``leaf_hash``), so that

* sealing an entry reads the O(log n) frontier and writes on average one node;
* a tree head or proof at any size reads O(log n) stored hashes in at most two indexed
  queries, planned up front from (index, size) or (old, new) alone, never the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger.errors import ProofOutOfRange
from giving.ledger.merkle import (
    CompactRange,
    LeafSourceError,
    ProofRequestError,
    TreeReader,
    largest_power_of_two_below,
    node_hash,
)
from giving.ledger.models import LedgerEntry, LedgerNode

_T = TypeVar("_T")


@dataclass(frozen=True)
class NewNode:
    """A perfect subtree completed by an append: leaves [tree_size - 2**height, tree_size)."""

    tree_size: int
    height: int
    hash: bytes


@dataclass
class Frontier:
    """A mutable frontier for sealing many entries in a row; ``hashes`` largest first."""

    size: int
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[NewNode]:
        """Add a leaf; return the perfect subtrees (height ≥ 1) it completes, lowest first."""
        nodes: list[NewNode] = []
        current, carry, height = leaf, self.size, 0
        while carry & 1:
            current = node_hash(self.hashes.pop(), current)
            carry >>= 1
            height += 1
            nodes.append(NewNode(self.size + 1, height, current))
        self.hashes.append(current)
        self.size += 1
        return nodes

    def root(self) -> bytes:
        return CompactRange(self.size, self.hashes).root()

    def compact_range(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)


def perfect_pieces(size: int) -> Iterator[tuple[int, int]]:
    """(end, height) of the perfect subtrees of a tree of ``size`` leaves, largest first."""
    start = 0
    for height in reversed(range(size.bit_length())):
        if size >> height & 1:
            start += 1 << height
            yield start, height


def perfect_cover(start: int, end: int) -> list[tuple[int, int]]:
    """The aligned perfect subtrees (start, end) that TreeReader combines into MTH(D[start:end]).

    This mirrors ``TreeReader.subtree_root``'s RFC 9162 split, so every range it will ask the
    cache for is in the list, left to right.
    """
    if end - start <= 0:
        return []
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:
        return [(start, end)]
    split = start + largest_power_of_two_below(width)
    return perfect_cover(start, split) + perfect_cover(split, end)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtree ranges PATH(index, D[size]) consists of (RFC 9162 §2.1.3.1), top first.

    Pure in (index, size), so a store can fetch them all before the proof is assembled.
    """
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1 and start <= index < end:
        k = largest_power_of_two_below(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The subtree ranges PROOF(old_size, D[new_size]) consists of (RFC 9162 §2.1.4.1)."""
    if not 0 < old_size < new_size:
        return []
    ranges: list[tuple[int, int]] = []
    start, end, remaining, old_is_whole = 0, new_size, old_size, True
    while remaining != end - start:
        k = largest_power_of_two_below(end - start)
        if remaining <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, remaining, old_is_whole = start + k, remaining - k, False
    if not old_is_whole:
        ranges.append((start, end))
    return ranges


def log_size(session: Session) -> int:
    """Number of sealed entries (the current tree size)."""
    last = session.scalar(sa.select(sa.func.max(LedgerEntry.seq)))
    return 0 if last is None else int(last) + 1


def load_frontier(session: Session, size: int, last_leaf: bytes | None = None) -> Frontier:
    """Read the frontier of the tree of ``size`` leaves: one or two indexed queries.

    ``last_leaf``, the leaf hash of seq size - 1 if the caller has it, saves a query.
    """
    pieces = list(perfect_pieces(size))
    wanted_nodes = [(end, height) for end, height in pieces if height > 0]
    found: dict[tuple[int, int], bytes] = {}
    if wanted_nodes:
        rows = session.execute(
            sa.select(LedgerNode.tree_size, LedgerNode.height, LedgerNode.hash).where(
                sa.tuple_(LedgerNode.tree_size, LedgerNode.height).in_(wanted_nodes)
            )
        )
        found = {(int(s), int(h)): bytes(value) for s, h, value in rows}
    if size & 1:
        leaf = last_leaf or session.scalar(
            sa.select(LedgerEntry.leaf_hash).where(LedgerEntry.seq == size - 1)
        )
        if leaf is not None:
            found[(size, 0)] = bytes(leaf)
    missing = [piece for piece in pieces if piece not in found]
    if missing:
        raise LeafSourceError(f"the stored tree lacks subtrees {missing} of size {size}")
    return Frontier(size, [found[piece] for piece in pieces])


class StoredSubtrees(MutableMapping[tuple[int, int], bytes]):
    """The ``cache`` TreeReader consults: perfect subtree hashes read from the database.

    Keys are TreeReader's (start, end) ranges. Reads are memoised for the object's lifetime
    (one request or one export), since stored subtrees never change.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._memo: dict[tuple[int, int], bytes] = {}

    def __getitem__(self, key: tuple[int, int]) -> bytes:
        if key in self._memo:
            return self._memo[key]
        start, end = key
        width = end - start
        height = width.bit_length() - 1
        value: bytes | None
        if height == 0:
            value = self._session.scalar(
                sa.select(LedgerEntry.leaf_hash).where(LedgerEntry.seq == start)
            )
        else:
            value = self._session.scalar(
                sa.select(LedgerNode.hash).where(
                    LedgerNode.tree_size == end, LedgerNode.height == height
                )
            )
        if value is None:
            raise KeyError(key)
        self._memo[key] = bytes(value)
        return self._memo[key]

    def prefetch(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Read the perfect pieces covering ``ranges`` in one nodes query and one leaves query.

        Pieces absent from the database are simply not memoised; ``__getitem__`` then raises
        KeyError for them as before, so a damaged store still fails the same way.
        """
        pieces = {piece for start, end in ranges for piece in perfect_cover(start, end)}
        pieces -= self._memo.keys()
        leaves = sorted(start for start, end in pieces if end - start == 1)
        nodes = sorted(
            (end, (end - start).bit_length() - 1) for start, end in pieces if end - start > 1
        )
        if nodes:
            rows = self._session.execute(
                sa.select(LedgerNode.tree_size, LedgerNode.height, LedgerNode.hash).where(
                    sa.tuple_(LedgerNode.tree_size, LedgerNode.height).in_(nodes)
                )
            )
            for end, height, value in rows:
                self._memo[(int(end) - (1 << int(height)), int(end))] = bytes(value)
        if leaves:
            leaf_rows = self._session.execute(
                sa.select(LedgerEntry.seq, LedgerEntry.leaf_hash).where(LedgerEntry.seq.in_(leaves))
            )
            for seq, value in leaf_rows:
                self._memo[(int(seq), int(seq) + 1)] = bytes(value)

    def __setitem__(self, key: tuple[int, int], value: bytes) -> None:
        self._memo[key] = value  # computed by TreeReader from stored pieces; keep for reuse

    def __delitem__(self, key: tuple[int, int]) -> None:  # pragma: no cover - never asked
        self._memo.pop(key, None)

    def __iter__(self) -> Iterator[tuple[int, int]]:  # pragma: no cover - never asked
        return iter(self._memo)

    def __len__(self) -> int:  # pragma: no cover - never asked
        return len(self._memo)


class LedgerTree:
    """Tree heads and RFC 9162 proofs of the sealed ledger, read from stored hashes."""

    def __init__(self, session: Session, size: int | None = None) -> None:
        self.session = session
        self.size = log_size(session) if size is None else size
        self._subtrees = StoredSubtrees(session)
        self._reader = TreeReader(
            self._fetch_leaves,
            log_size=self.size,
            cache=self._subtrees,
            chunk_size=1,  # always descend to stored perfect subtrees
        )

    def _fetch_leaves(self, start: int, end: int) -> Sequence[bytes]:
        rows = self.session.scalars(
            sa.select(LedgerEntry.leaf_hash)
            .where(LedgerEntry.seq >= start, LedgerEntry.seq < end)
            .order_by(LedgerEntry.seq)
        )
        return [bytes(value) for value in rows]

    def root(self, tree_size: int | None = None) -> bytes:
        """The tree head at ``tree_size`` (default: the whole log)."""
        size = self.size if tree_size is None else tree_size
        if 0 < size <= self.size:
            self._subtrees.prefetch([(0, size)])
        return self._guard(lambda: self._reader.root(size))

    def leaf_hash(self, seq: int) -> bytes:
        if not 0 <= seq < self.size:
            raise ProofOutOfRange(
                f"There is no entry {seq}: the ledger has {self.size} entries (seq 0 to "
                f"{self.size - 1})"
            )
        return self._subtrees[(seq, seq + 1)]

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> list[bytes]:
        """PATH(seq, D[tree_size]): proves entry ``seq`` is in the tree of that size."""
        size = self.size if tree_size is None else tree_size
        if size <= self.size:
            self._subtrees.prefetch(inclusion_ranges(seq, size))
        return self._guard(lambda: self._reader.inclusion_proof(seq, size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[new_size]): proves the old tree is a prefix of the new one."""
        size = self.size if new_size is None else new_size
        if size <= self.size:
            self._subtrees.prefetch(consistency_ranges(old_size, size))
        return self._guard(lambda: self._reader.consistency_proof(old_size, size))

    @staticmethod
    def _guard(compute: Callable[[], _T]) -> _T:
        try:
            return compute()
        except ProofRequestError as exc:
            raise ProofOutOfRange(_sentence(str(exc))) from None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
