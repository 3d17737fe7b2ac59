"""RFC 9162 §2.1 Merkle tree over ledger leaves: hashes, tree heads, proofs and the frontier.

Everything here is pure and database-free. The ledger store feeds it leaf hashes, either as an
in-memory sequence or through a callable that fetches a range of them, and keeps a
`CompactRange` (the right edge of the tree) so that sealing an entry costs O(log n).

Terms follow RFC 9162: `MTH(D[n])` is the tree head over the first n leaves, `PATH` an inclusion
proof and `PROOF`/`SUBPROOF` a consistency proof. Leaf indices are the entries' `seq`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
"""Every hash in the tree is a 32-byte SHA-256 digest."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) of RFC 9162: the tree head of a log with no entries."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_SIZE_BYTES = 8  # a tree size is stored as an unsigned 64-bit big-endian integer

LeafHashFetcher = Callable[[int, int], Sequence[bytes]]
"""`fetch(start, end)` returns the leaf hashes of seq start..end-1, in order."""


class SubtreeCache(Protocol):
    """Hashes of perfect subtrees keyed by (start, end); they never change in an append-only log.

    A plain dict will do; the store may instead pass an adapter that reads its persisted
    subtree hashes (key (start, end) is the subtree of height log2(end - start) completed at
    tree size `end`) and ignores writes.
    """

    def get(self, key: tuple[int, int], /) -> bytes | None:
        """Return the cached hash of leaves [start, end), or None."""

    def __setitem__(self, key: tuple[int, int], value: bytes, /) -> None:
        """Remember the hash of leaves [start, end)."""


class ProofRequestError(ValueError):
    """A proof or tree head was asked for an index or size outside the tree.

    A ValueError because it is the caller's input that is wrong; the web layer maps it to 4xx.
    """


class LeafSourceError(RuntimeError):
    """The leaf-hash source returned something other than the hashes asked for.

    This means the store is inconsistent (missing rows, wrong ordering), not that the request
    was bad, so it is not a ProofRequestError.
    """


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the RFC 9162 leaf hash.

    The 0x00 prefix (0x01 for nodes) stops a leaf from being passed off as an interior node.
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the RFC 9162 interior node hash."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """Return the k of RFC 9162 §2.1.1: the largest power of two strictly smaller than n >= 2."""
    if n < 2:
        raise ValueError(f"the split point is defined for n >= 2, not {n}")
    return 1 << ((n - 1).bit_length() - 1)


def _is_perfect(start: int, end: int) -> bool:
    """Whether [start, end) is a complete, aligned subtree (size 2^h starting at a multiple)."""
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def _check_hash(value: bytes, what: str) -> None:
    """Refuse anything that is not a 32-byte digest, so a truncated hash fails loudly."""
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes, got {value!r:.80}")


# --------------------------------------------------------------------------- tree heads


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """Return MTH over the given leaf hashes (EMPTY_ROOT for none), in O(n) time, O(log n) space."""
    frontier = CompactRange()
    frontier.extend(hashes)
    return frontier.root()


class CompactRange:
    """The right edge (frontier) of a Merkle tree: one hash per perfect subtree, largest first.

    A tree of size n decomposes into perfect subtrees whose sizes are the set bits of n, so
    the frontier has popcount(n) <= 64 hashes. It is all that is needed to append a leaf and
    to compute the tree head, which is why the ledger stores it beside the last sealed entry.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Rebuild a frontier; `hashes` are the perfect subtrees' hashes, largest first."""
        if size < 0 or size >= 1 << (8 * _SIZE_BYTES):
            raise ValueError(f"tree size {size} is out of range")
        if len(hashes) != size.bit_count():
            raise ValueError(
                f"a tree of size {size} has {size.bit_count()} frontier hashes, got {len(hashes)}"
            )
        for position, value in enumerate(hashes):
            _check_hash(value, f"frontier hash {position}")
        self._size = size
        self._hashes = [bytes(value) for value in hashes]

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> CompactRange:
        """Build the frontier of a tree by appending every leaf hash in order."""
        frontier = cls()
        frontier.extend(hashes)
        return frontier

    @property
    def size(self) -> int:
        """Number of leaves in the tree this frontier describes."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Hashes of the perfect subtrees, largest (leftmost) first."""
        return tuple(self._hashes)

    def subtrees(self) -> list[tuple[int, bytes]]:
        """Return (subtree size, hash) pairs, largest first; sizes are the set bits of size."""
        sizes = [
            1 << bit for bit in reversed(range(self._size.bit_length())) if self._size >> bit & 1
        ]
        return list(zip(sizes, self._hashes, strict=True))

    def append(self, hash_of_leaf: bytes) -> None:
        """Add one leaf hash; merges equal-sized subtrees, O(log n) worst case, O(1) amortised."""
        _check_hash(hash_of_leaf, "leaf hash")
        self._hashes.append(bytes(hash_of_leaf))
        # Each trailing 1 bit of the old size is a subtree the new leaf completes a pair with.
        carry = self._size
        while carry & 1:
            right = self._hashes.pop()
            left = self._hashes.pop()
            self._hashes.append(node_hash(left, right))
            carry >>= 1
        self._size += 1

    def extend(self, hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes in order."""
        for value in hashes:
            self.append(value)

    def root(self) -> bytes:
        """Return MTH of the tree: fold the subtrees from the right, as RFC 9162's split does."""
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            result = node_hash(left, result)
        return result

    def copy(self) -> CompactRange:
        """Return an independent frontier, e.g. to compute a prospective root."""
        return CompactRange(self._size, self._hashes)

    def to_bytes(self) -> bytes:
        """Serialise as 8-byte big-endian size followed by the frontier hashes, for storage."""
        return self._size.to_bytes(_SIZE_BYTES, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """Inverse of to_bytes; rejects data whose length does not match its size."""
        if len(data) < _SIZE_BYTES or (len(data) - _SIZE_BYTES) % HASH_SIZE:
            raise ValueError(f"a stored frontier cannot be {len(data)} bytes long")
        size = int.from_bytes(data[:_SIZE_BYTES], "big")
        body = data[_SIZE_BYTES:]
        hashes = [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)]
        return cls(size, hashes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    def __hash__(self) -> int:
        return hash((self._size, tuple(self._hashes)))

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


# --------------------------------------------------------------------------- proof generation


class TreeReader:
    """Computes subtree hashes, tree heads and proofs from leaf hashes fetched on demand.

    The store passes a `fetch(start, end)` callable (e.g. one SELECT of `leaf_hash` ordered by
    seq) and, optionally, a cache of perfect-subtree hashes that it may persist: those hashes
    never change once their leaves exist. Ranges up to `chunk_size` leaves are fetched in one
    call; larger ones are split at RFC 9162's power-of-two points so a big proof never needs
    the whole log in memory at once.
    """

    def __init__(
        self,
        fetch: LeafHashFetcher,
        *,
        log_size: int | None = None,
        cache: SubtreeCache | None = None,
        chunk_size: int = 1024,
    ) -> None:
        """`log_size`, when known, makes requests beyond the log a ProofRequestError."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self._fetch = fetch
        self._log_size = log_size
        self._cache = cache
        self._chunk_size = chunk_size

    @classmethod
    def from_leaf_hashes(cls, hashes: Sequence[bytes], *, chunk_size: int = 1024) -> TreeReader:
        """Read from an in-memory sequence of leaf hashes (tests, small exports)."""

        def fetch(start: int, end: int) -> Sequence[bytes]:
            return hashes[start:end]

        return cls(fetch, log_size=len(hashes), chunk_size=chunk_size)

    def subtree_root(self, start: int, end: int) -> bytes:
        """Return MTH(D[start:end]); perfect aligned subtrees are cached."""
        if not 0 <= start < end:
            raise ProofRequestError(f"leaf range [{start}, {end}) is empty or negative")
        self._check_within_log(end)
        cache = self._cache if _is_perfect(start, end) else None
        cached = cache.get((start, end)) if cache is not None else None
        if cached is not None:
            return cached
        if end - start <= self._chunk_size:
            result = root_from_leaf_hashes(self._fetch_checked(start, end))
        else:
            split = start + largest_power_of_two_below(end - start)
            result = node_hash(self.subtree_root(start, split), self.subtree_root(split, end))
        if cache is not None:
            cache[(start, end)] = result
        return result

    def root(self, tree_size: int) -> bytes:
        """Return the tree head MTH(D[tree_size])."""
        if tree_size < 0:
            raise ProofRequestError(f"tree size {tree_size} is negative")
        self._check_within_log(tree_size)
        return EMPTY_ROOT if tree_size == 0 else self.subtree_root(0, tree_size)

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """Return PATH(index, D[tree_size]) of RFC 9162 §2.1.3.1, nearest sibling first."""
        if not 0 <= index < tree_size:
            raise ProofRequestError(
                f"leaf index {index} is not in a tree of size {tree_size} (need 0 <= index < size)"
            )
        self._check_within_log(tree_size)
        siblings: list[bytes] = []  # collected from the top of the tree down
        start, end, offset = 0, tree_size, index
        while end - start > 1:
            k = largest_power_of_two_below(end - start)
            if offset < k:
                siblings.append(self.subtree_root(start + k, end))
                end = start + k
            else:
                siblings.append(self.subtree_root(start, start + k))
                start, offset = start + k, offset - k
        siblings.reverse()
        return siblings

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Return PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1.

        Empty when old_size is 0 or equals new_size: those pairs are consistent by definition.
        """
        if not 0 <= old_size <= new_size:
            raise ProofRequestError(
                f"no consistency proof from size {old_size} to size {new_size} "
                "(need 0 <= old size <= new size)"
            )
        self._check_within_log(new_size)
        if old_size in (0, new_size):
            return []
        nodes: list[bytes] = []  # collected from the top of the tree down
        start, end, remaining, old_is_whole = 0, new_size, old_size, True
        while remaining != end - start:
            k = largest_power_of_two_below(end - start)
            if remaining <= k:
                nodes.append(self.subtree_root(start + k, end))
                end = start + k
            else:
                nodes.append(self.subtree_root(start, start + k))
                start, remaining, old_is_whole = start + k, remaining - k, False
        if not old_is_whole:
            # SUBPROOF(m, D[m], false): the old tree's last subtree is not the old root itself.
            nodes.append(self.subtree_root(start, end))
        nodes.reverse()
        return nodes

    def _check_within_log(self, size: int) -> None:
        if self._log_size is not None and size > self._log_size:
            raise ProofRequestError(
                f"tree size {size} is larger than the log, which has {self._log_size} entries"
            )

    def _fetch_checked(self, start: int, end: int) -> Sequence[bytes]:
        hashes = self._fetch(start, end)
        if len(hashes) != end - start:
            raise LeafSourceError(
                f"asked for {end - start} leaf hashes [{start}, {end}), got {len(hashes)}"
            )
        return hashes


def subtree_root(
    fetch: LeafHashFetcher, start: int, end: int, cache: SubtreeCache | None = None
) -> bytes:
    """Return MTH(D[start:end]) reading leaf hashes through `fetch`, caching perfect subtrees."""
    return TreeReader(fetch, cache=cache).subtree_root(start, end)


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int) -> list[bytes]:
    """Return the inclusion proof of leaf `index` in the tree of the first `tree_size` leaves."""
    return TreeReader.from_leaf_hashes(leaf_hashes).inclusion_proof(index, tree_size)


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Return the proof that the tree of size `old_size` is a prefix of the one of `new_size`."""
    return TreeReader.from_leaf_hashes(leaf_hashes).consistency_proof(old_size, new_size)


# --------------------------------------------------------------------------- verification


def _all_hashes(*values: bytes) -> bool:
    return all(isinstance(v, bytes | bytearray) and len(v) == HASH_SIZE for v in values)


def root_from_inclusion_proof(
    hash_of_leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes | None:
    """Run RFC 9162 §2.1.3.2 and return the root it implies, or None if the proof is malformed."""
    if not 0 <= index < tree_size or not _all_hashes(hash_of_leaf, *proof):
        return None
    fn, sn, result = index, tree_size - 1, bytes(hash_of_leaf)
    for sibling in proof:
        if sn == 0:
            return None  # the proof is longer than the path to the root
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                # A right-edge node with no right sibling: climb until we are a right child.
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return result if sn == 0 else None


def verify_inclusion(
    hash_of_leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows leaf `index` with that hash is in the tree of `tree_size` and root."""
    computed = root_from_inclusion_proof(hash_of_leaf, index, tree_size, proof)
    return computed is not None and _all_hashes(root) and hmac.compare_digest(computed, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree (old_size, old_root) is a prefix of (new_size, new_root).

    Follows RFC 9162 §2.1.4.2 for 0 < old < new. The edge cases are strict: equal sizes need
    equal roots and an empty proof; old size 0 needs the empty-tree root and an empty proof.
    """
    if not 0 <= old_size <= new_size or not _all_hashes(old_root, new_root, *proof):
        return False
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, EMPTY_ROOT)
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    roots = _roots_from_consistency_proof(old_size, new_size, old_root, proof)
    if roots is None:
        return False
    computed_old, computed_new = roots
    return hmac.compare_digest(computed_old, old_root) and hmac.compare_digest(
        computed_new, new_root
    )


def _roots_from_consistency_proof(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes] | None:
    """Steps 1-6 of RFC 9162 §2.1.4.2: the (old, new) roots the proof implies, or None."""
    if not proof:
        return None
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a perfect subtree of the new one, so its root is the proof's start.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_hash = new_hash = path[0]
    for node in path[1:]:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            old_hash = node_hash(node, old_hash)
            new_hash = node_hash(node, new_hash)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            new_hash = node_hash(new_hash, node)
        fn, sn = fn >> 1, sn >> 1
    return (old_hash, new_hash) if sn == 0 else None
