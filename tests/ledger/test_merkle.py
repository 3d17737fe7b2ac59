"""The RFC 9162 Merkle tree: published RFC 6962 vectors, then exhaustive and tampering checks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from giving.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    LeafSourceError,
    ProofRequestError,
    TreeReader,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# Published test data of Certificate Transparency / Trillian (transparency-dev/merkle,
# testonly/constants.go and proof/verify_test.go); only the published values are used here.
RFC6962_LEAF_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
RFC6962_ROOTS = {
    0: h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    1: h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    2: h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    3: h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    4: h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    5: h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    6: h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    7: h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    8: h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
}
# Node hashes of the complete subtrees, by level then position (NodeHashes()).
RFC6962_NODES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]
# (0-based leaf index, tree size, proof); the published table numbers leaves from 1.
RFC6962_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
RFC6962_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

RFC6962_LEAF_HASHES = [leaf_hash(data) for data in RFC6962_LEAF_INPUTS]


# --------------------------------------------------------------------------- reference
# Recursive definitions transcribed from RFC 9162 §2.1, deliberately naive, to check the
# iterative implementation against.


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return node_hash(ref_mth(hashes[:k]), ref_mth(hashes[k:]))


def ref_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _k(len(hashes))
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [ref_mth(hashes)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], whole), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def numbered_leaf_hashes(count: int) -> list[bytes]:
    return [leaf_hash(f"entry {i}".encode()) for i in range(count)]


def flipped(proof: Sequence[bytes], position: int) -> list[bytes]:
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ 0x08]) + changed[position][1:]
    return changed


# --------------------------------------------------------------------------- published vectors


def test_leaf_and_node_hashes_match_published_rfc6962_node_hashes() -> None:
    assert RFC6962_NODES[0] == RFC6962_LEAF_HASHES
    for level in range(1, len(RFC6962_NODES)):
        below = RFC6962_NODES[level - 1]
        pairs = [node_hash(below[i], below[i + 1]) for i in range(0, len(below), 2)]
        assert pairs == RFC6962_NODES[level]


@pytest.mark.parametrize("size", range(9))
def test_tree_heads_match_published_roots(size: int) -> None:
    assert root_from_leaf_hashes(RFC6962_LEAF_HASHES[:size]) == RFC6962_ROOTS[size]
    assert TreeReader.from_leaf_hashes(RFC6962_LEAF_HASHES).root(size) == RFC6962_ROOTS[size]


def test_empty_tree_head_is_hash_of_empty_string() -> None:
    assert RFC6962_ROOTS[0] == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "proof"), RFC6962_INCLUSION)
def test_inclusion_proofs_match_published_paths(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(RFC6962_LEAF_HASHES, index, size) == proof
    assert verify_inclusion(RFC6962_LEAF_HASHES[index], index, size, proof, RFC6962_ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), RFC6962_CONSISTENCY)
def test_consistency_proofs_match_published_proofs(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(RFC6962_LEAF_HASHES, old, new) == proof
    assert verify_consistency(old, new, RFC6962_ROOTS[old], RFC6962_ROOTS[new], proof)


@pytest.mark.parametrize(("index", "size", "proof"), RFC6962_INCLUSION[1:])
def test_published_inclusion_proofs_fail_when_corrupted_like_trillian_probes(
    index: int, size: int, proof: list[bytes]
) -> None:
    leaf, root = RFC6962_LEAF_HASHES[index], RFC6962_ROOTS[size]
    probes = [
        (leaf, index - 1, size, proof, root),
        (leaf, index + 1, size, proof, root),
        (leaf, index ^ 2, size, proof, root),
        (leaf, index, size * 2, proof, root),
        (leaf, index, size // 2, proof, root),
        (leaf_hash(b"WrongLeaf"), index, size, proof, root),
        (leaf, index, size, proof, EMPTY_ROOT),
        (leaf, index, size, proof, SOME_HASH),
        (leaf, index, size, [*proof, b""], root),
        (leaf, index, size, [*proof, root], root),
        (leaf, index, size, [b"", *proof], root),
        (leaf, index, size, [root, *proof], root),
        (leaf, index, size, proof[:-1], root),
        (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root),
        *[(leaf, index, size, flipped(proof, i), root) for i in range(len(proof))],
    ]
    for probe in probes:
        assert not verify_inclusion(*probe), probe


@pytest.mark.parametrize(("old", "new", "proof"), RFC6962_CONSISTENCY[1:])
def test_published_consistency_proofs_fail_when_corrupted_like_trillian_probes(
    old: int, new: int, proof: list[bytes]
) -> None:
    r1, r2 = RFC6962_ROOTS[old], RFC6962_ROOTS[new]
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, SOME_HASH, r2, proof),
        (old, new, r1, SOME_HASH, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [b"", *proof]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
        *[(old, new, r1, r2, flipped(proof, i)) for i in range(len(proof))],
    ]
    for probe in probes:
        assert not verify_consistency(*probe), probe


def test_compact_range_matches_published_compact_trees() -> None:
    nodes = RFC6962_NODES
    expected = [
        [],
        [nodes[0][0]],
        [nodes[1][0]],
        [nodes[1][0], nodes[0][2]],
        [nodes[2][0]],
        [nodes[2][0], nodes[0][4]],
        [nodes[2][0], nodes[1][2]],
        [nodes[2][0], nodes[1][2], nodes[0][6]],
        [nodes[3][0]],
    ]
    frontier = CompactRange()
    for size, hashes in enumerate(expected):
        assert list(frontier.hashes) == hashes
        assert frontier.root() == RFC6962_ROOTS[size]
        if size < len(RFC6962_LEAF_HASHES):
            frontier.append(RFC6962_LEAF_HASHES[size])


# --------------------------------------------------------------------------- exhaustive

EXHAUSTIVE = 64
LEAVES = numbered_leaf_hashes(EXHAUSTIVE)
ROOTS = [ref_mth(LEAVES[:n]) for n in range(EXHAUSTIVE + 1)]


@pytest.mark.parametrize("size", range(1, EXHAUSTIVE + 1))
def test_every_inclusion_proof_verifies_and_tampering_fails(size: int) -> None:
    tree = TreeReader.from_leaf_hashes(LEAVES[:size])
    root = ROOTS[size]
    for index in range(size):
        proof = tree.inclusion_proof(index, size)
        assert proof == ref_path(index, LEAVES[:size])
        assert verify_inclusion(LEAVES[index], index, size, proof, root)
        for other in range(size):
            if other != index:
                assert not verify_inclusion(LEAVES[index], other, size, proof, root)
        assert not verify_inclusion(LEAVES[index], index, size, [*proof, root], root)
        if proof:
            assert not verify_inclusion(LEAVES[index], index, size, proof[:-1], root)
        for position in range(len(proof)):
            assert not verify_inclusion(LEAVES[index], index, size, flipped(proof, position), root)


@pytest.mark.parametrize("new", range(1, EXHAUSTIVE + 1))
def test_every_consistency_proof_verifies_and_tampering_fails(new: int) -> None:
    tree = TreeReader.from_leaf_hashes(LEAVES[:new])
    for old in range(1, new + 1):
        proof = tree.consistency_proof(old, new)
        assert proof == ref_subproof(old, LEAVES[:new], True)
        assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)
        if old == new:
            assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], [ROOTS[old]])
            continue
        assert not verify_consistency(old, new, ROOTS[new], ROOTS[old], proof)
        assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], [*proof, ROOTS[old]])
        assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], proof[:-1])
        for other in range(1, new):
            if other != old:
                assert not verify_consistency(other, new, ROOTS[old], ROOTS[new], proof)
        for position in range(len(proof)):
            tampered = flipped(proof, position)
            assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], tampered)


def test_consistency_from_empty_tree_needs_empty_root_and_no_proof() -> None:
    assert consistency_proof(LEAVES, 0, 5) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert not verify_consistency(0, 5, SOME_HASH, ROOTS[5], [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [EMPTY_ROOT])


def test_consistency_backwards_in_time_is_refused() -> None:
    assert not verify_consistency(5, 4, ROOTS[5], ROOTS[4], [])
    with pytest.raises(ProofRequestError, match="old size <= new size"):
        consistency_proof(LEAVES, 5, 4)


def test_verifiers_reject_hashes_of_the_wrong_length() -> None:
    assert not verify_inclusion(LEAVES[0][:31], 0, 1, [], ROOTS[1][:31])
    assert not verify_inclusion(LEAVES[0], 0, 2, [LEAVES[1] + b"\x00"], ROOTS[2])
    assert not verify_consistency(1, 2, ROOTS[1], ROOTS[2], [LEAVES[1][:16]])


# --------------------------------------------------------------------------- frontier


def test_compact_range_root_equals_full_recomputation_for_every_size_to_200() -> None:
    leaves = numbered_leaf_hashes(200)
    frontier = CompactRange()
    for size in range(201):
        assert frontier.size == size
        assert frontier.root() == ref_mth(leaves[:size]) == root_from_leaf_hashes(leaves[:size])
        assert [s for s, _ in frontier.subtrees()] == [
            1 << bit for bit in reversed(range(size.bit_length())) if size >> bit & 1
        ]
        assert CompactRange.from_bytes(frontier.to_bytes()) == frontier
        if size < 200:
            frontier.append(leaves[size])


def test_stored_frontier_of_the_wrong_shape_is_refused() -> None:
    good = CompactRange.from_leaf_hashes(LEAVES[:5]).to_bytes()
    with pytest.raises(ValueError, match="frontier"):
        CompactRange.from_bytes(good[:-1])
    with pytest.raises(ValueError, match="has 2 frontier hashes"):
        CompactRange.from_bytes(good[:-32])
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange(1, [b"short"])


def test_copy_of_frontier_is_independent() -> None:
    frontier = CompactRange.from_leaf_hashes(LEAVES[:3])
    prospective = frontier.copy()
    prospective.append(LEAVES[3])
    assert frontier.size == 3
    assert frontier.root() == ROOTS[3]
    assert prospective.root() == ROOTS[4]


# --------------------------------------------------------------------------- reading by range


class CountingSource:
    """A stand-in for the database: serves leaf-hash ranges and records each request."""

    def __init__(self, hashes: Sequence[bytes]) -> None:
        self.hashes = list(hashes)
        self.requests: list[tuple[int, int]] = []

    def __call__(self, start: int, end: int) -> Sequence[bytes]:
        self.requests.append((start, end))
        return self.hashes[start:end]


def test_tree_reader_with_small_chunks_and_cache_gives_the_same_proofs() -> None:
    leaves = numbered_leaf_hashes(100)
    source = CountingSource(leaves)
    cache: dict[tuple[int, int], bytes] = {}
    reader = TreeReader(source, log_size=100, cache=cache, chunk_size=4)
    for index in (0, 37, 63, 64, 99):
        assert reader.inclusion_proof(index, 100) == ref_path(index, leaves)
    assert reader.consistency_proof(37, 100) == ref_subproof(37, leaves, True)
    assert reader.root(100) == ref_mth(leaves)
    assert source.requests
    assert all(end - start <= 4 for start, end in source.requests)
    assert cache
    for (start, end), value in cache.items():
        size = end - start
        assert size & (size - 1) == 0
        assert start % size == 0
        assert value == ref_mth(leaves[start:end])


def test_cached_subtrees_are_not_fetched_again() -> None:
    leaves = numbered_leaf_hashes(64)
    source = CountingSource(leaves)
    cache: dict[tuple[int, int], bytes] = {}
    assert subtree_root(source, 0, 64, cache) == ref_mth(leaves)
    fetched = len(source.requests)
    assert subtree_root(source, 0, 64, cache) == ref_mth(leaves)
    assert len(source.requests) == fetched


def test_short_read_from_the_store_is_a_leaf_source_error() -> None:
    reader = TreeReader(lambda start, end: numbered_leaf_hashes(3)[start:end])
    with pytest.raises(LeafSourceError, match="got 3"):
        reader.root(5)


@pytest.mark.parametrize(("index", "size"), [(-1, 5), (5, 5), (0, 0), (3, 2), (0, 9)], ids=str)
def test_inclusion_proof_outside_the_tree_is_a_proof_request_error(index: int, size: int) -> None:
    with pytest.raises(ProofRequestError):
        inclusion_proof(LEAVES[:8], index, size)


def test_proof_request_error_is_a_value_error_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="larger than the log, which has 8 entries"):
        inclusion_proof(LEAVES[:8], 2, 9)
