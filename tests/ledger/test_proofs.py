"""Tree heads and proofs read from the stored tree agree with the pure RFC 9162 code."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger.errors import ProofOutOfRange
from giving.ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from giving.ledger.models import LedgerEntry
from giving.ledger.tree import LedgerTree, load_frontier
from tests.ledger.support import add_campaign, donate

SIZE = 37  # crosses several powers of two, leaves an odd, ragged right edge


@pytest.fixture
def leaves(session: Session) -> list[bytes]:
    campaign = add_campaign(session)
    for n in range(SIZE):
        donate(session, campaign, 100 + n)
    return [
        bytes(h)
        for h in session.scalars(sa.select(LedgerEntry.leaf_hash).order_by(LedgerEntry.seq))
    ]


def test_tree_head_and_frontier_at_every_size_match_a_full_recomputation(
    session: Session, leaves: list[bytes]
) -> None:
    tree = LedgerTree(session)
    assert tree.size == SIZE
    for size in range(SIZE + 1):
        expected = root_from_leaf_hashes(leaves[:size])
        assert tree.root(size) == expected, size
        assert load_frontier(session, size).root() == expected, size
    assert tree.root(0) == EMPTY_ROOT


def test_every_inclusion_proof_matches_and_verifies(session: Session, leaves: list[bytes]) -> None:
    tree = LedgerTree(session)
    for size in range(1, SIZE + 1):
        root = root_from_leaf_hashes(leaves[:size])
        for seq in range(size):
            proof = tree.inclusion_proof(seq, size)
            assert proof == inclusion_proof(leaves, seq, size)
            assert verify_inclusion(leaves[seq], seq, size, proof, root)


def test_every_consistency_proof_matches_and_verifies(
    session: Session, leaves: list[bytes]
) -> None:
    tree = LedgerTree(session)
    for new in range(SIZE + 1):
        new_root = root_from_leaf_hashes(leaves[:new])
        for old in range(new + 1):
            proof = tree.consistency_proof(old, new)
            assert proof == consistency_proof(leaves, old, new)
            assert verify_consistency(
                old, new, root_from_leaf_hashes(leaves[:old]), new_root, proof
            )


@pytest.mark.parametrize(
    ("request_proof", "message"),
    [
        pytest.param(
            lambda t: t.inclusion_proof(SIZE, SIZE), "not in a tree of size 37", id="seq-at-size"
        ),
        pytest.param(
            lambda t: t.inclusion_proof(3, 2), "not in a tree of size 2", id="seq-beyond-size"
        ),
        pytest.param(lambda t: t.inclusion_proof(-1, 5), "not in a tree", id="negative-seq"),
        pytest.param(
            lambda t: t.inclusion_proof(0, SIZE + 1), "larger than the log", id="tree-too-big"
        ),
        pytest.param(
            lambda t: t.consistency_proof(5, 4),
            "need 0 <= old size <= new size",
            id="old-after-new",
        ),
        pytest.param(
            lambda t: t.consistency_proof(1, SIZE + 5), "larger than the log", id="new-too-big"
        ),
        pytest.param(
            lambda t: t.root(SIZE + 1), "larger than the log, which has 37", id="head-too-big"
        ),
        pytest.param(lambda t: t.leaf_hash(SIZE), "There is no entry 37", id="leaf-missing"),
    ],
)
def test_requests_outside_the_tree_are_refused_clearly(
    session: Session, leaves: list[bytes], request_proof: object, message: str
) -> None:
    tree = LedgerTree(session)
    with pytest.raises(ProofOutOfRange, match=message):
        request_proof(tree)  # type: ignore[operator]
