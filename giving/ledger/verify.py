"""``giving ledger verify``: recompute the whole ledger from its rows and compare everything.

For every entry, in seq order, it rebuilds the leaf from the stored columns and postings,
hashes it, and checks the stored leaf hash, the link to the previous chain hash, the chain
hash, the balance of the postings, the gap-free seq and the stored Merkle nodes the entry
completes; at each checkpoint's size it compares the tree head with the checkpoint, whose
signature and note it also checks; finally it looks for postings that belong to no entry. It
stops at the first problem and names it.

Two readers feed the same in-order checks (``_check_chain_and_tree``), and memory stays flat
with either: the frontier is O(log n) and rows arrive in bounded batches.

* On PostgreSQL, giving/ledger/verify_postgres.py reads entries, postings and nodes as three
  plain index scans through server-side cursors, fetched by a thread while this one hashes,
  so the server and Python each keep a core busy; leaves are written by
  giving/ledger/fastleaf.py. On a million entries the generic reader used 29 s of Python
  CPU; this one uses about 7 s, the server 3 s on the other core (bench/ledger.py prints
  both readers). Where the fast builder cannot vouch for a leaf, or its hash differs from
  the stored one, the reference path (canonical.leaf_record) decides, so every verdict and
  message is the generic reader's.
* Elsewhere (SQLite), and when worker processes are asked for, entries come with their
  postings aggregated by the database, and leaves are rebuilt by leaf_record, in worker
  processes in bounded chunks if asked (giving/ledger/leafhash.py); chaining, the tree and
  the comparisons stay in order here, so the first problem reported is still the one with
  the lowest seq.
"""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.ledger.canonical import GENESIS_CHAIN_HASH
from giving.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    VerifierKey,
    key_id,
    parse_checkpoint,
    parse_vkey,
    verify_checkpoint,
)
from giving.ledger.leafhash import LeafRow, hash_rows, leaf_input_fast, row_leaf_hash
from giving.ledger.merkle import EMPTY_ROOT, CompactRange
from giving.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerNode, LedgerPosting
from giving.ledger.verify_postgres import Hashed, hashed_entries, postgres_streams

__all__ = ["LedgerCorrupt", "VerifyReport", "leaf_input_fast", "verify_ledger"]

STREAM_BATCH = 5000
PARALLEL_FROM = 50_000  # entries; below this, starting worker processes costs more than it saves
CHUNK = 2_000  # rows per task handed to a worker


class LedgerCorrupt(Exception):
    """The ledger does not verify; the message names the first bad seq or checkpoint."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    checkpoints: int
    root: bytes

    def summary(self) -> str:
        return f"OK: {self.entries} entries, {self.checkpoints} checkpoints, root {self.root.hex()}"


@dataclass(frozen=True)
class _StoredCheckpoint:
    id: int
    tree_size: int
    root: bytes
    note: str
    origin: str | None  # what it was signed under; None for checkpoints from before 0010
    key_name: str | None
    key_id: bytes | None


_Stored = tuple[int, bytes, bytes, bytes]
"""What the in-order checks need of an entry row besides its contents: seq, leaf_hash,
chain_hash, prev_chain_hash."""


def verify_ledger(
    session: Session,
    vkey: VerifierKey | str | None,
    *,
    origin: str | None = None,
    workers: int | None = 0,
    fast: bool = True,
) -> VerifyReport:
    """Verify everything; raise LedgerCorrupt at the first problem.

    ``vkey`` is the platform's public key. Each checkpoint is checked against the origin and
    key name it was signed under (stored beside it, or for older checkpoints stated by its
    note), with that public key, so a later change of the log's name or of the web address
    does not make old checkpoints fail; a stored origin or key ID that disagrees with the
    note is reported. ``origin``, if given, additionally pins every checkpoint to one log.
    With no key, a ledger that has checkpoints cannot be verified and is reported as such.
    ``workers`` processes rebuild leaves: 0 (the default) does it all here; None picks a
    number from the CPUs available once the ledger has PARALLEL_FROM entries. Workers are
    started with ``spawn``, which re-imports the calling program's main module, so only
    callers whose main module is import-safe (``giving``, pytest, bench/ledger.py) should
    ask for them. On PostgreSQL without workers the fast reader runs unless ``fast`` is
    False (tests compare the two readers).
    """
    connection = session.connection()
    checkpoints = [
        _StoredCheckpoint(
            int(i),
            int(size),
            bytes(root),
            note,
            signed_origin,
            key_name,
            None if signer_id is None else bytes(signer_id),
        )
        for i, size, root, note, signed_origin, key_name, signer_id in connection.execute(
            sa.select(
                LedgerCheckpoint.id,
                LedgerCheckpoint.tree_size,
                LedgerCheckpoint.root,
                LedgerCheckpoint.note,
                LedgerCheckpoint.origin,
                LedgerCheckpoint.key_name,
                LedgerCheckpoint.key_id,
            ).order_by(LedgerCheckpoint.id)
        )
    ]
    # PostgreSQL 14 made extract(epoch ...) exact (numeric); the fast reader relies on it.
    postgres = connection.dialect.name == "postgresql"
    exact_epoch = postgres and (connection.dialect.server_version_info or (0,)) >= (14,)
    if workers is None:
        last = connection.scalar(sa.select(sa.func.max(LedgerEntry.seq)))
        cpus = os.cpu_count() or 1
        # The reading process and the database need a core each; measured on two cores,
        # workers only competed with them (bench/ledger.py prints both ways). PostgreSQL's
        # reader needs none: the generic reader's aggregating query alone keeps the server
        # busier than the fast reader's whole run.
        big = last is not None and last + 1 >= PARALLEL_FROM
        workers = min(cpus - 2, 8) if big and cpus >= 4 and not postgres else 0
    if exact_epoch and fast and workers == 0:
        with postgres_streams(connection) as (entry_rows, posting_rows, node_rows):
            size, root = _check_chain_and_tree(
                hashed_entries(entry_rows, posting_rows), node_rows, checkpoints
            )
    else:
        entries = _stream(connection, _entries_query(connection))
        nodes = _stream(connection, _nodes_query())
        try:
            hashed = _hashed_in_order(entries, workers)
            size, root = _check_chain_and_tree(hashed, iter(nodes), checkpoints)
        finally:
            entries.close()  # server-side cursors, also when a problem stops us early
            nodes.close()
    orphan = connection.scalar(_orphan_postings_query())
    if orphan is not None:
        raise LedgerCorrupt(f"seq {orphan}: has postings but no entry")
    for checkpoint in checkpoints:
        if checkpoint.tree_size > size:
            raise LedgerCorrupt(
                f"checkpoint {checkpoint.id}: signs tree size {checkpoint.tree_size}, but the "
                f"ledger has only {size} entries"
            )
        _check_signature(checkpoint, vkey, origin)
    return VerifyReport(size, len(checkpoints), root)


def _check_chain_and_tree(
    hashed: Iterable[Hashed],
    nodes: Iterator[Any],
    checkpoints: list[_StoredCheckpoint],
) -> tuple[int, bytes]:
    """The in-order checks; returns (size, root).

    ``nodes`` are the stored tree nodes, (tree_size, height, hash) in that order. The
    frontier is tree.Frontier's list of hashes kept inline: this loop runs once per entry,
    and creating a NewNode per completed subtree was a tenth of its time.
    """
    by_size: dict[int, list[_StoredCheckpoint]] = {}
    for checkpoint in checkpoints:
        by_size.setdefault(checkpoint.tree_size, []).append(checkpoint)
    for checkpoint in by_size.get(0, []):
        _check_root(checkpoint, EMPTY_ROOT)
    sha256 = hashlib.sha256
    frontier: list[bytes] = []  # perfect subtrees of the tree so far, largest first
    size = 0
    previous = GENESIS_CHAIN_HASH
    for seq, stored_leaf, stored_chain, stored_previous, computed in hashed:
        if seq != size:
            raise LedgerCorrupt(f"seq {size}: missing (the next stored entry is seq {seq})")
        if isinstance(computed, str):
            raise LedgerCorrupt(computed)
        if computed != stored_leaf:
            raise LedgerCorrupt(f"seq {seq}: stored leaf hash does not match its contents")
        if stored_previous != previous:
            raise LedgerCorrupt(
                f"seq {seq}: previous chain hash does not link to "
                + ("the genesis value" if seq == 0 else f"entry {seq - 1}")
            )
        previous = sha256(previous + computed).digest()  # canonical.chain_hash
        if previous != stored_chain:
            raise LedgerCorrupt(f"seq {seq}: stored chain hash is wrong")
        # Frontier.append: each set low bit of the old size completes one more subtree.
        node, carry, height = computed, size, 0
        while carry & 1:
            node = sha256(b"\x01" + frontier.pop() + node).digest()  # merkle.node_hash
            carry >>= 1
            height += 1
            row = next(nodes, None)
            if row is None or row[0] != size + 1 or row[1] != height:
                key = (size + 1, height)
                raise LedgerCorrupt(f"seq {seq}: the tree node {key} it completes is missing")
            if row[2] != node:
                key = (size + 1, height)
                raise LedgerCorrupt(f"seq {seq}: stored tree node {key} does not match the entries")
        frontier.append(node)
        size += 1
        if size in by_size:
            root = CompactRange(size, frontier).root()
            for checkpoint in by_size[size]:
                _check_root(checkpoint, root)
    extra = next(nodes, None)
    if extra is not None:
        raise LedgerCorrupt(
            f"seq {size}: stored tree node ({extra[0]}, {extra[1]}) "
            f"is beyond the last entry (seq {size - 1})"
        )
    return size, CompactRange(size, frontier).root()


def _split(row: Any) -> tuple[_Stored, LeafRow]:
    # Positional, no conversions: this runs once per entry (both drivers give int and bytes).
    seq, campaign, kind, occurred_at, ref, memo, reverses, evidence, commitment = row[:9]
    stored = (seq, row[9], row[10], row[11])
    contents: LeafRow = (
        seq,
        campaign,
        kind,
        occurred_at,
        ref,
        memo,
        reverses,
        evidence,
        commitment,
        row[12],
    )
    return stored, contents


def _hashed_in_order(rows: Iterable[Any], workers: int) -> Iterator[Hashed]:
    """(stored hashes, recomputed leaf hash or problem) per entry, in seq order."""
    if workers <= 0:
        for row in rows:
            stored, contents = _split(row)
            yield (*stored, row_leaf_hash(contents))
        return
    # spawn, not fork: the parent holds database connections and maybe threads.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        pending: deque[tuple[list[_Stored], Any]] = deque()
        for chunk in _chunks(rows, CHUNK):
            heads = [head for head, _ in chunk]
            pending.append((heads, pool.apply_async(hash_rows, ([c for _, c in chunk],))))
            if len(pending) > 2 * workers:  # bounded read-ahead keeps memory flat
                yield from _collect(pending.popleft())
        while pending:
            yield from _collect(pending.popleft())


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[tuple[_Stored, LeafRow]]]:
    chunk: list[tuple[_Stored, LeafRow]] = []
    for row in rows:
        chunk.append(_split(row))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _collect(task: tuple[list[_Stored], Any]) -> Iterator[Hashed]:
    stored, result = task
    for head, computed in zip(stored, result.get(), strict=True):
        yield (*head, computed)


def _check_root(checkpoint: _StoredCheckpoint, root: bytes) -> None:
    if not hmac.compare_digest(checkpoint.root, root):
        raise LedgerCorrupt(
            f"checkpoint {checkpoint.id}: root does not match the ledger's tree head at "
            f"tree size {checkpoint.tree_size}"
        )


def _check_signature(
    checkpoint: _StoredCheckpoint, vkey: VerifierKey | str | None, origin: str | None
) -> None:
    where = f"checkpoint {checkpoint.id}"
    if vkey is None:
        raise LedgerCorrupt(f"{where}: cannot check its signature without the public key")
    try:
        trusted = parse_vkey(vkey) if isinstance(vkey, str) else vkey
        note = parse_checkpoint(checkpoint.note)
        signed_origin = checkpoint.origin if checkpoint.origin is not None else note.origin
        if origin is not None and signed_origin != origin:
            raise CheckpointError(f"checkpoint origin {signed_origin!r} is not {origin!r}")
        signer = _signer(checkpoint, note, trusted)
        parsed = verify_checkpoint(checkpoint.note, signer, origin=signed_origin)
    except CheckpointError as exc:
        raise LedgerCorrupt(f"{where}: {exc}") from None
    if parsed.size != checkpoint.tree_size or parsed.root_hash != checkpoint.root:
        raise LedgerCorrupt(f"{where}: its signed note does not state its stored size and root")


def _signer(checkpoint: _StoredCheckpoint, note: Checkpoint, trusted: VerifierKey) -> VerifierKey:
    """The platform key under the name this checkpoint was signed with.

    The public key is what is trusted; a key ID also commits to the key's name, which was the
    log's origin at the time. The stored name is used, or for older checkpoints the name on
    the note's signature line whose key ID the trusted key has under that name.
    """
    if checkpoint.key_name is not None:
        signer = VerifierKey(
            checkpoint.key_name,
            key_id(checkpoint.key_name, trusted.public_key),
            trusted.public_key,
        )
        if checkpoint.key_id is not None and checkpoint.key_id != signer.key_id:
            raise CheckpointError(
                f"note has no signature by key {checkpoint.key_name}+{signer.key_id.hex()} "
                f"(the public key given); it was signed by key ID {checkpoint.key_id.hex()}"
            )
        return signer
    for signature in note.signatures:
        signer = VerifierKey(
            signature.key_name,
            key_id(signature.key_name, trusted.public_key),
            trusted.public_key,
        )
        if signature.key_id == signer.key_id:
            return signer
    names = ", ".join(sorted({signature.key_name for signature in note.signatures}))
    raise CheckpointError(f"note has no signature by key {names} with the public key given")


def _entries_query(connection: sa.Connection) -> sa.Select[*tuple[Any, ...]]:
    """Entries in seq order, each with its postings aggregated to one JSON array.

    One row per entry (the index on (entry_seq, line) serves each subquery) keeps the
    per-entry work in the database and in the C JSON decoder rather than in a Python merge.
    """
    # Order within the array does not matter: leaf_record sorts the postings.
    if connection.dialect.name == "sqlite":
        item, aggregate = sa.func.json_array, sa.func.json_group_array
    else:
        item, aggregate = sa.func.json_build_array, sa.func.json_agg
    postings = (
        sa.select(
            sa.cast(
                aggregate(
                    item(LedgerPosting.account, LedgerPosting.amount, LedgerPosting.currency)
                ),
                sa.Text,
            )
        )
        .where(LedgerPosting.entry_seq == LedgerEntry.seq)
        .scalar_subquery()
    )
    # JSON columns come back as text and are decoded in leafhash (where [] costs nothing):
    # the driver's own JSON loading was a fifth of verify's time on PostgreSQL.
    return sa.select(
        LedgerEntry.seq,
        LedgerEntry.campaign,
        LedgerEntry.kind,
        LedgerEntry.occurred_at,
        LedgerEntry.ref,
        LedgerEntry.memo,
        LedgerEntry.reverses,
        sa.cast(LedgerEntry.evidence, sa.Text).label("evidence"),
        LedgerEntry.donor_commitment,
        LedgerEntry.leaf_hash,
        LedgerEntry.chain_hash,
        LedgerEntry.prev_chain_hash,
        postings.label("postings"),
    ).order_by(LedgerEntry.seq)


def _orphan_postings_query() -> sa.Select[*tuple[Any, ...]]:
    """The first posting whose entry does not exist (it would still count in balances)."""
    entry = sa.select(LedgerEntry.seq).where(LedgerEntry.seq == LedgerPosting.entry_seq)
    return sa.select(sa.func.min(LedgerPosting.entry_seq)).where(~entry.exists())


def _nodes_query() -> sa.Select[*tuple[Any, ...]]:
    return sa.select(LedgerNode.tree_size, LedgerNode.height, LedgerNode.hash).order_by(
        LedgerNode.tree_size, LedgerNode.height
    )


def _stream(connection: sa.Connection, query: sa.Select[*tuple[Any, ...]]) -> sa.CursorResult[Any]:
    """Rows of ``query`` fetched in batches through a server-side cursor where there is one."""
    # Per statement: Connection.execution_options() would change the shared connection.
    return connection.execute(
        query, execution_options={"stream_results": True, "yield_per": STREAM_BATCH}
    )
