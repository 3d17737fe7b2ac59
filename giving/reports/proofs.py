"""RFC 9162 inclusion proofs for many leaves at once, from the leaf hashes held in memory.

A report attaches its campaign's ledger with one inclusion proof per entry. Asking the
database for each proof costs O(log n) queries per entry, which for a campaign of 100,000
donations is minutes; building the tree's levels once (about two hashes per leaf) and reading
every proof from them takes about a second. The levels are the bottom-up form of the RFC 9162
tree: at each level a lone last node is carried up unhashed, which gives exactly the tree
``MTH`` defines (left subtree = largest power of two below n). Tests check the proofs against
giving.ledger.tree.LedgerTree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


class ProofTree:
    """All levels of the Merkle tree over ``leaf_hashes`` (leaf hashes, not leaf inputs)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.size = len(leaf_hashes)
        levels: list[Sequence[bytes]] = [leaf_hashes]
        sha256 = hashlib.sha256
        while len(levels[-1]) > 1:
            below = levels[-1]
            pairs = len(below) - 1
            above = [sha256(b"\x01" + below[i] + below[i + 1]).digest() for i in range(0, pairs, 2)]
            if len(below) % 2:
                above.append(below[-1])
            levels.append(above)
        self._levels = levels
        self._hex_levels: list[list[str]] | None = None
        # proof_text's memo: per level, the node whose proof suffix (from that level up) is
        # held as JSON text. Consecutive leaves share almost all of it.
        self._memo_node: list[int] = []
        self._memo_text: list[str] = []

    def root(self) -> bytes:
        if self.size == 0:
            return hashlib.sha256(b"").digest()
        return bytes(self._levels[-1][0])

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(index, D[size]): sibling hashes from the leaf up to the root, nearest first."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is not in a tree of size {self.size}")
        proof: list[bytes] = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            index //= 2
        return proof

    def inclusion_proof_hex(self, index: int) -> list[str]:
        """The same proof as hex strings; every node is converted once, not once per proof."""
        self._hex()
        assert self._hex_levels is not None
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is not in a tree of size {self.size}")
        proof: list[str] = []
        for level in self._hex_levels:
            sibling = index ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            index //= 2
        return proof

    def _hex(self) -> list[list[str]]:
        if self._hex_levels is None:
            self._hex_levels = [[node.hex() for node in level] for level in self._levels[:-1]]
            self._memo_node = [-1] * len(self._hex_levels)
            self._memo_text = [""] * len(self._hex_levels)
        return self._hex_levels

    def proof_text(self, index: int) -> str:
        """The proof as the inside of a JSON array: ``"h1","h2",…`` (empty for one leaf).

        Built from the memo of the previous call: for the next leaf only the lowest levels
        change, so on a run of consecutive leaves this costs O(1) string joins per leaf
        instead of one per level.
        """
        levels = self._hex()
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is not in a tree of size {self.size}")
        top, level, node = len(levels), 0, index
        while level < top and self._memo_node[level] != node:
            level += 1
            node >>= 1
        text = self._memo_text[level] if level < top else ""
        for below in range(level - 1, -1, -1):
            node = index >> below
            row = levels[below]
            sibling = node ^ 1
            if sibling < len(row):
                text = f'"{row[sibling]}",{text}' if text else f'"{row[sibling]}"'
            self._memo_node[below] = node
            self._memo_text[below] = text
        return text
