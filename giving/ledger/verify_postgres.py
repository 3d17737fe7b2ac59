"""verify's PostgreSQL reader: three plain ordered cursors, read ahead by a thread, merged here.

On a million entries the generic reader spent most of its time in two places that this one
avoids. The database aggregated each entry's postings into JSON in a correlated subquery
(about 10 s of the server's time, which the client waited for between fetches), and Python
built SQLAlchemy rows, decoded that JSON and rebuilt each leaf through leaf_record. Here
entries, postings and nodes are three index scans in key order (about 1 s each on the
server), fetched in binary through server-side cursors by one reader thread while the main
thread merges postings into their entry and hashes (giving/ledger/fastleaf.py). The thread
releases the GIL while it waits for the server, so the server's work overlaps the hashing:
on two cores one holds the database, the other Python.

Memory stays flat: each cursor has at most READ_AHEAD batches of BATCH rows in flight. The
session's own connection is used (in its transaction and snapshot, so uncommitted rows of
the caller's transaction are seen, as by the generic reader); nothing else touches it while
the thread runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any

import sqlalchemy as sa

from giving.ledger.fastleaf import FastLeaves, PostingRow
from giving.ledger.leafhash import row_leaf_hash

__all__ = ["Hashed", "NodeRow", "hashed_entries", "postgres_streams"]

# Rows per FETCH, and batches per cursor fetched ahead of the hashing. Measured on a million
# entries, two cores: 5,000 and 3 left the hashing waiting 1.5 s for rows (every FETCH is a
# round trip to a busy server); 10,000 and 2 waited 0.3-0.6 s for 17 MiB more at the peak;
# 20,000 gained nothing more for another 45 MiB.
BATCH = 10_000
READ_AHEAD = 2

Hashed = tuple[int, bytes, bytes, bytes, bytes | str]
"""(seq, stored leaf hash, stored chain hash, stored previous chain hash, computed leaf hash
or the problem that stops there), the input of verify's in-order checks."""

NodeRow = tuple[int, int, bytes]
"""(tree_size, height, hash) of a stored tree node."""

# occurred_at as whole microseconds (exact: extract returns numeric since PostgreSQL 14, which
# verify checks), only for years 1000 to 9998, so the arithmetic can never overflow and the
# session's time zone can never move a date out of Python's range; anything else arrives as
# the timestamp itself and goes to the reference path.
ENTRIES = """
    SELECT seq, campaign, kind,
           CASE WHEN occurred_at >= '1000-01-01 00:00:00+00'
                 AND occurred_at < '9999-01-01 00:00:00+00'
                THEN (extract(epoch FROM occurred_at) * 1000000)::bigint END,
           ref, memo, reverses, evidence::text, donor_commitment,
           leaf_hash, chain_hash, prev_chain_hash,
           CASE WHEN occurred_at >= '1000-01-01 00:00:00+00'
                 AND occurred_at < '9999-01-01 00:00:00+00'
                THEN NULL ELSE occurred_at END
    FROM ledger_entries ORDER BY seq
"""
POSTINGS = (
    "SELECT entry_seq, account, amount, currency FROM ledger_postings ORDER BY entry_seq, line"
)
NODES = "SELECT tree_size, height, hash FROM ledger_nodes ORDER BY tree_size, height"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_END = (float("inf"),)  # after the last posting: sorts after every seq


def hashed_entries(entries: Iterator[Any], postings: Iterator[Any]) -> Iterator[Hashed]:
    """Each entry with its recomputed leaf hash, postings merged in from their own cursor.

    A posting whose entry_seq is below the current entry's belongs to no entry (verify
    reports it at the end, after the in-order checks, as the generic reader does). Where the
    fast hash is missing or differs from the stored one, the reference path decides: then
    the verdict and its wording are exactly those of the generic reader.
    """
    fast = FastLeaves().leaf_hash
    posting: Any = next(postings, _END)
    for row in entries:
        seq, campaign, kind, micros, ref, memo, reverses, evidence, commitment, stored = row[:10]
        while posting[0] < seq:
            posting = next(postings, _END)
        lines: list[PostingRow] = []
        while posting[0] == seq:
            lines.append(posting)
            posting = next(postings, _END)
        computed: bytes | str | None = fast(
            seq, campaign, kind, micros, ref, memo, reverses, evidence, commitment, lines
        )
        if computed != stored:
            when = row[12] if micros is None else _EPOCH + dt.timedelta(microseconds=micros)
            contents = [(account, amount, currency) for _, account, amount, currency in lines]
            computed = row_leaf_hash(
                (seq, campaign, kind, when, ref, memo, reverses, evidence, commitment, contents)
            )
        assert computed is not None
        yield seq, stored, row[10], row[11], computed


@contextmanager
def postgres_streams(
    connection: sa.Connection,
) -> Iterator[tuple[Iterator[Any], Iterator[Any], Iterator[NodeRow]]]:
    """(entries, postings, nodes) rows in key order, read ahead on the session's connection."""
    raw = connection.connection.driver_connection
    assert raw is not None
    reader = _ReadAhead([raw.cursor(name=f"giving_verify_{n}", binary=True) for n in range(3)])
    try:
        reader.start((ENTRIES, POSTINGS, NODES))
        # chain.from_iterable: the per-row step is C; Python runs once per batch.
        entries, postings, nodes = (chain.from_iterable(reader.batches(n)) for n in range(3))
        yield entries, postings, nodes
    finally:
        reader.stop()


class _ReadAhead:
    """One thread fetching batches from several server-side cursors on one connection.

    It always fetches for the cursor with the fewest batches waiting, so the three streams
    advance together and the consumer, which takes from each in turn, never waits on one
    while another's buffer is full. A failure is raised in the consumer.
    """

    def __init__(self, cursors: list[Any]) -> None:
        self._cursors = cursors
        self._ready: list[deque[list[Any]]] = [deque() for _ in cursors]
        self._done = [False] * len(cursors)
        self._failure: BaseException | None = None
        self._stopping = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="giving-verify-reader", daemon=True)

    def start(self, queries: tuple[str, ...]) -> None:
        for cursor, query in zip(self._cursors, queries, strict=True):
            cursor.execute(query)  # DECLARE: each cursor is one snapshot of its table
        self._thread.start()

    def batches(self, stream: int) -> Iterator[list[Any]]:
        ready = self._ready[stream]
        while True:
            with self._changed:
                while not ready and self._failure is None:
                    self._changed.wait()
                if self._failure is not None:
                    raise self._failure
                batch = ready.popleft()
                self._changed.notify_all()
            if not batch:
                return
            yield batch

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        for cursor in self._cursors:
            # CLOSE, unless the transaction has failed; then the first error is the one to see.
            with contextlib.suppress(Exception):
                cursor.close()

    def _run(self) -> None:
        try:
            while True:
                with self._changed:
                    stream = self._wanted()
                    while stream is None and not self._stopping and not all(self._done):
                        self._changed.wait()
                        stream = self._wanted()
                    if stream is None or self._stopping:
                        return  # stopped, or every stream has ended
                batch = self._cursors[stream].fetchmany(BATCH)  # the GIL is free meanwhile
                with self._changed:
                    self._ready[stream].append(batch)  # an empty batch ends the stream
                    self._done[stream] = not batch
                    self._changed.notify_all()
        except BaseException as exc:  # handed to the consumer, which raises it
            with self._changed:
                self._failure = exc
                self._changed.notify_all()

    def _wanted(self) -> int | None:
        """The open stream with the fewest batches waiting, if any has room."""
        open_ = [i for i, done in enumerate(self._done) if not done]
        if not open_:
            return None
        stream = min(open_, key=lambda i: len(self._ready[i]))
        return stream if len(self._ready[stream]) < READ_AHEAD else None
