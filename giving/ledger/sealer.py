"""The batch sealer (DESIGN §3, "Sequencing under load"): many writers, one sequencer.

``append_entry`` holds the ledger lock from the moment it reads the head until its
transaction commits, so concurrent appends queue behind one another's commit flushes. Here
writers instead insert unsealed entries into ``ledger_pending`` in their own short
transactions, all in parallel, and a single sequencer seals whatever is queued, up to
``max_batch`` entries, in one transaction: one lock, one commit flush, a few multi-row
INSERTs for the whole batch. It seals as soon as anything is queued, so at light load
latency is one small transaction, and batches grow by themselves as load rises.

In one process, :class:`Sealer` runs the sequencer on a thread and hands each writer a
:class:`concurrent.futures.Future`. Across processes, :func:`queue_entry` queues an entry in
the caller's transaction and :func:`wait_for_seal` polls ``ledger_submissions`` for its fate;
``giving ledger seal`` runs a sequencer. Queued entries get every check that needs no
database when queued, and the ledger checks when sealed (a queued refund may still find its
donation already refunded by then); a refused entry's error is recorded, not lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from giving.db import transaction, utcnow
from giving.errors import DomainError
from giving.ledger.canonical import Posting
from giving.ledger.errors import InvalidEntry
from giving.ledger.models import PendingEntry, SealOutcome
from giving.ledger.rules import EntryDraft, draft_entry
from giving.ledger.sealing import SealResult, lock_ledger, seal

log = logging.getLogger(__name__)


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


MAX_BATCH = 500
POLL_INTERVAL = 0.1  # seconds: how often a sequencer looks for entries queued elsewhere


@dataclass(frozen=True)
class Sealed:
    """A submission's outcome: its entry's seq; ``new`` is False when its ref matched."""

    seq: int
    new: bool


class SealRefused(InvalidEntry):
    """The sequencer refused a queued entry (the message says why)."""


class SealTimeout(TimeoutError):
    """The entry was queued but not sealed in time (is a sequencer running?)."""


def queue_entry(
    session: Session | sa.Connection,
    *,
    campaign: str,
    kind: str,
    postings: Sequence[Posting | tuple[Any, Any, Any]],
    occurred_at: dt.datetime,
    ref: str | None = None,
    memo: str = "",
    reverses: int | None = None,
    evidence: Iterable[str] = (),
    donor_commitment: str | None = None,
) -> str:
    """Queue an entry in the caller's transaction (Session or Connection); return its token.

    Everything that needs no database is checked now, so bad input is refused at once.
    """
    draft = draft_entry(
        campaign=campaign,
        kind=kind,
        postings=postings,
        occurred_at=occurred_at,
        ref=ref,
        memo=memo,
        reverses=reverses,
        evidence=evidence,
        donor_commitment=donor_commitment,
    )
    token, row = _queue_row(draft)
    session.execute(_QUEUE_INSERT, row)
    return token


# Built once: constructing the statement per call cost as much CPU as the INSERT itself.
_QUEUE_INSERT = sa.insert(_table(PendingEntry))


def _queue_row(draft: EntryDraft) -> tuple[str, dict[str, Any]]:
    token = uuid.uuid4().hex
    return token, {"token": token, "payload": draft.to_payload(), "submitted_at": utcnow()}


def seal_queued(session: Session, *, max_batch: int = MAX_BATCH) -> dict[str, Sealed | DomainError]:
    """Seal up to ``max_batch`` queued entries, oldest first, in the caller's transaction.

    Records each outcome in ``ledger_submissions`` and removes the entries from the queue.
    """
    lock_ledger(session)  # before reading the queue, so two sequencers never take the same rows
    rows = session.execute(
        sa.select(PendingEntry.id, PendingEntry.token, PendingEntry.payload)
        .order_by(PendingEntry.id)
        .limit(max_batch)
    ).all()
    if not rows:
        return {}
    outcomes: dict[str, Sealed | DomainError] = {}
    drafts: list[EntryDraft] = []
    tokens: list[str] = []
    for _, token, payload in rows:
        try:
            drafts.append(EntryDraft.from_payload(payload))
            tokens.append(token)
        except (DomainError, KeyError, TypeError, ValueError) as exc:
            outcomes[token] = _refusal(exc)
    for token, result in zip(tokens, seal(session, drafts), strict=True):
        outcomes[token] = _outcome(result)
    _record(session, outcomes)
    session.execute(sa.delete(PendingEntry).where(PendingEntry.id.in_([row[0] for row in rows])))
    return outcomes


def wait_for_seal(
    session_factory: sessionmaker[Session], token: str, *, timeout: float = 30.0
) -> Sealed:
    """Poll for a queued entry's outcome (another process seals it); raise if refused."""
    deadline = time.monotonic() + timeout
    while True:
        with session_factory() as session:
            row = session.get(SealOutcome, token)
        if row is not None:
            if row.seq is None:
                raise SealRefused(row.error or "The entry was refused")
            return Sealed(int(row.seq), new=True)
        if time.monotonic() > deadline:
            raise SealTimeout(f"entry {token} was not sealed within {timeout} s")
        time.sleep(POLL_INTERVAL / 2)


class Sealer:
    """An in-process sequencer thread with futures for the writers of this process.

    ``with Sealer(factory) as sealer: sealer.submit(...).result()``; ``submit_entry`` waits.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        max_batch: int = MAX_BATCH,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self._factory = session_factory
        self._bind = session_factory.kw.get("bind")
        self._max_batch = max_batch
        self._poll_interval = poll_interval
        self._futures: dict[str, Future[Sealed]] = {}
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0  # sealed batches, for the benchmark's report

    # ------------------------------------------------------------------ writers' side

    def submit(self, **entry: Any) -> Future[Sealed]:
        """Queue an entry in its own short transaction; the future resolves once sealed.

        Raises at once (InvalidEntry) for anything wrong with the entry on its own.
        """
        token, row = _queue_row(draft_entry(**entry))
        future: Future[Sealed] = Future()
        with self._guard:  # before the insert commits, so the sequencer always finds it
            self._futures[token] = future
        try:
            if isinstance(self._bind, Engine):
                with self._bind.begin() as connection:  # lighter than a Session per entry
                    connection.execute(_QUEUE_INSERT, row)
            else:
                with self._factory() as session, transaction(session):
                    session.execute(_QUEUE_INSERT, row)
        except BaseException:
            with self._guard:
                self._futures.pop(token, None)
            raise
        self._wake.set()
        return future

    def submit_entry(self, *, timeout: float = 30.0, **entry: Any) -> Sealed:
        """Queue an entry and wait until it is sealed; raise its refusal if it was refused."""
        return self.submit(**entry).result(timeout=timeout)

    # ------------------------------------------------------------------ the sequencer

    def start(self) -> Sealer:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="ledger-sealer", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Seal what is queued, then stop the thread."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Sealer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def seal_once(self) -> int:
        """Seal one batch; return how many queued entries it took."""
        try:
            with self._factory() as session, transaction(session):
                outcomes = seal_queued(session, max_batch=self._max_batch)
        except Exception:
            log.exception("sealing a batch failed; sealing its entries one at a time")
            outcomes = self._seal_singly()
        if outcomes:
            self.batches += 1
        self._resolve(outcomes)
        return len(outcomes)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._poll_interval)
            self._wake.clear()
            sealed = self.seal_once()
            while sealed >= self._max_batch:  # more is queued: keep going without waiting
                sealed = self.seal_once()
            if not sealed:
                self._collect_sealed_elsewhere()
            if self._stopping.is_set():
                while self.seal_once():
                    pass
                return

    def _seal_singly(self) -> dict[str, Sealed | DomainError]:
        """After a failed batch: seal entries one per transaction, isolating a bad one."""
        outcomes: dict[str, Sealed | DomainError] = {}
        for _ in range(self._max_batch):
            try:
                with self._factory() as session, transaction(session):
                    single = seal_queued(session, max_batch=1)
            except Exception as exc:
                log.exception("a queued entry could not be sealed")
                single = self._refuse_head(exc)
            if not single:
                break
            outcomes.update(single)
        return outcomes

    def _refuse_head(self, exc: Exception) -> dict[str, Sealed | DomainError]:
        with self._factory() as session, transaction(session):
            lock_ledger(session)
            head = session.execute(
                sa.select(PendingEntry.id, PendingEntry.token).order_by(PendingEntry.id).limit(1)
            ).first()
            if head is None:
                return {}
            refusal = SealRefused(f"The entry could not be sealed: {exc.__class__.__name__}")
            _record(session, {head.token: refusal})
            session.execute(sa.delete(PendingEntry).where(PendingEntry.id == head.id))
            return {head.token: refusal}

    def _resolve(self, outcomes: dict[str, Sealed | DomainError]) -> None:
        with self._guard:
            futures = [(self._futures.pop(t, None), o) for t, o in outcomes.items()]
        for future, outcome in futures:
            if future is None:
                continue  # queued by another process
            if isinstance(outcome, Sealed):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)

    def _collect_sealed_elsewhere(self) -> None:
        """Resolve our futures whose entries another process's sequencer sealed."""
        with self._guard:
            waiting = list(self._futures)
        if not waiting:
            return
        with self._factory() as session:
            rows = session.execute(
                sa.select(SealOutcome.token, SealOutcome.seq, SealOutcome.error).where(
                    SealOutcome.token.in_(waiting)
                )
            ).all()
        self._resolve(
            {
                token: Sealed(int(seq), new=True) if seq is not None else SealRefused(str(error))
                for token, seq, error in rows
            }
        )


def _outcome(result: SealResult) -> Sealed | DomainError:
    if result.error is not None:
        return result.error
    assert result.seq is not None
    return Sealed(result.seq, result.new)


def _refusal(exc: Exception) -> DomainError:
    if isinstance(exc, DomainError):
        return exc
    return SealRefused(f"The queued entry is malformed: {exc}")


def _record(session: Session, outcomes: dict[str, Sealed | DomainError]) -> None:
    now = utcnow()
    rows = [
        {
            "token": token,
            "seq": outcome.seq if isinstance(outcome, Sealed) else None,
            "error": None if isinstance(outcome, Sealed) else outcome.message,
            "sealed_at": now,
        }
        for token, outcome in outcomes.items()
    ]
    if rows:
        session.execute(sa.insert(_table(SealOutcome)), rows)
