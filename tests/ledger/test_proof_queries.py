"""Proofs read a planned, bounded set of stored nodes: few statements, same RFC 9162 answers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.ledger.merkle import TreeReader, leaf_hash
from giving.ledger.models import LedgerEntry
from giving.ledger.tree import (
    LedgerTree,
    consistency_ranges,
    inclusion_ranges,
    perfect_cover,
)
from tests.ledger.support import add_campaign, donate

LEAVES = [leaf_hash(hashlib.sha256(str(n).encode()).digest()) for n in range(5000)]
REFERENCE = TreeReader.from_leaf_hashes(LEAVES)


def _reader_with_only(pieces: set[tuple[int, int]], size: int) -> TreeReader:
    """A reader that may use nothing but the planned perfect pieces: any other read fails."""
    cache = {piece: REFERENCE.subtree_root(*piece) for piece in pieces}

    def no_fetch(start: int, end: int) -> Sequence[bytes]:
        raise AssertionError(f"the plan missed leaves [{start}, {end})")

    return TreeReader(no_fetch, log_size=size, cache=cache, chunk_size=1)


def _planned(ranges: list[tuple[int, int]]) -> set[tuple[int, int]]:
    return {piece for start, end in ranges for piece in perfect_cover(start, end)}


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=len(LEAVES)).flatmap(
        lambda size: st.tuples(st.just(size), st.integers(min_value=0, max_value=size - 1))
    )
)
def test_planned_pieces_alone_give_the_in_memory_inclusion_proof(case: tuple[int, int]) -> None:
    size, index = case
    pieces = _planned(inclusion_ranges(index, size))
    assert len(pieces) <= 2 * size.bit_length()  # O(log n) rows, not O(log² n)
    proof = _reader_with_only(pieces, size).inclusion_proof(index, size)
    assert proof == REFERENCE.inclusion_proof(index, size)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=len(LEAVES)).flatmap(
        lambda new: st.tuples(st.integers(min_value=0, max_value=new), st.just(new))
    )
)
def test_planned_pieces_alone_give_the_in_memory_consistency_proof(case: tuple[int, int]) -> None:
    old, new = case
    pieces = _planned(consistency_ranges(old, new))
    assert len(pieces) <= 3 * new.bit_length()
    proof = _reader_with_only(pieces, new).consistency_proof(old, new)
    assert proof == REFERENCE.consistency_proof(old, new)


@given(st.integers(min_value=1, max_value=len(LEAVES)))
def test_planned_pieces_alone_give_the_in_memory_tree_head(size: int) -> None:
    assert _reader_with_only(_planned([(0, size)]), size).root(size) == REFERENCE.root(size)


@contextmanager
def counted_statements(session: Session) -> Iterator[list[str]]:
    """Collect every SQL statement the session's connection sends while the block runs."""
    statements: list[str] = []
    engine = session.get_bind()

    def record(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


SIZE = 70  # several levels, a ragged right edge


@pytest.fixture
def leaves(session: Session) -> list[bytes]:
    campaign = add_campaign(session)
    for n in range(SIZE):
        donate(session, campaign, 100 + n)
    session.flush()
    return [
        bytes(h)
        for h in session.scalars(sa.select(LedgerEntry.leaf_hash).order_by(LedgerEntry.seq))
    ]


def test_each_proof_and_tree_head_takes_at_most_two_queries_whatever_its_size(
    session: Session, leaves: list[bytes]
) -> None:
    reference = TreeReader.from_leaf_hashes(leaves)
    for size in range(1, SIZE + 1):
        for seq in range(size):
            tree = LedgerTree(session, SIZE)  # a fresh memo, as one request has
            with counted_statements(session) as statements:
                assert tree.inclusion_proof(seq, size) == reference.inclusion_proof(seq, size)
            assert len(statements) <= 2, (seq, size, statements)
        for old in range(size + 1):
            tree = LedgerTree(session, SIZE)
            with counted_statements(session) as statements:
                assert tree.consistency_proof(old, size) == reference.consistency_proof(old, size)
            assert len(statements) <= 2, (old, size, statements)
        tree = LedgerTree(session, SIZE)
        with counted_statements(session) as statements:
            assert tree.root(size) == reference.root(size)
        assert len(statements) <= 2, (size, statements)
