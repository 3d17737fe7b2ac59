"""The batch sequencer for payments (DESIGN §3): concurrent webhooks share one ledger lock.

Each payment webhook request stores its event and gathers the charge in parallel with the
others, then hands an ``EventWork`` to its process's :class:`PaymentSequencer` and waits.
Whichever waiting request finds no batch running leads: it takes everything queued (up to
``max_batch``) and applies it with ``handlers.apply_events`` in one transaction, on its own
request's session (which holds one connection for the whole request, so leading costs no
second checkout): the events' state rows, intents and charges are locked, a statement per
kind for the whole batch, and their entries drafted first, then one ``seal`` call takes the
ledger lock and seals every entry, the donations are written beside them, and one commit
flushes the lot. Requests that arrived meanwhile
form the next batch, led by one of them; so at light load a batch is one event with no
added wait, and batches grow by themselves as load rises, with no thread to start or
stop in a forking server.

Exactly once holds as on the single path: the batch's one transaction writes entries,
donations and event states together, so a killed worker or a restarted database leaves
every event of the batch stored and unhandled, and Stripe's redelivery (or ``giving
payments retry-events``) applies it again. A batch that fails is rolled back and its events
applied one per transaction, so a bad event fails alone, as it would have by itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from giving.payments.handlers import EventWork, apply_events, apply_singly
from giving.payments.handling import Outcome

log = logging.getLogger(__name__)

MAX_BATCH = 200


@dataclass
class _Slot:
    work: EventWork
    done: bool = False
    follow_ups: list[int] = field(default_factory=list)
    error: BaseException | None = None


class PaymentSequencer:
    """Leader/follower batching of payment events within one process (see module docstring).

    ``session_factory`` must open sessions on their own connections (an Engine-bound
    factory): the leader applies other requests' events on its own request's session, or,
    given none, on a new one.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        platform_fee_bps: int,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._factory = session_factory
        self._platform_fee_bps = platform_fee_bps
        self._max_batch = max_batch
        self._queue: list[_Slot] = []
        self._leading = False
        self._changed = threading.Condition()
        self.batches = 0  # applied batches, for tests and the benchmark
        self.events = 0

    def apply(self, work: EventWork, session: Session | None = None) -> list[int]:
        """Apply the event in some batch; return the parked events it unblocked.

        ``session``, the caller's (with no transaction open), is the one the caller uses
        if it leads, rather than a new session on another connection from the pool.
        Raises what applying it alone raised (the event is then marked failed).
        """
        slot = _Slot(work)
        with self._changed:
            self._queue.append(slot)
            while True:
                if slot.done:
                    break
                if not self._leading:
                    self._leading = True
                    batch = self._queue[: self._max_batch]
                    del self._queue[: len(batch)]
                    self._changed.release()
                    try:
                        self._run(batch, session)
                    finally:
                        for other in batch:  # interrupted (a worker timeout): none waits on
                            if not other.done:
                                other.error = RuntimeError("the batch was interrupted")
                                other.done = True
                        self._changed.acquire()
                        self._leading = False
                        self._changed.notify_all()
                    continue
                self._changed.wait()
        if slot.error is not None:
            raise slot.error
        return slot.follow_ups

    @contextmanager
    def _session(self, own: Session | None) -> Iterator[Session]:
        if own is not None:
            yield own
            return
        with self._factory() as session:
            yield session

    def _run(self, batch: Sequence[_Slot], own: Session | None) -> None:
        """Apply ``batch`` in one transaction, or one by one if that fails; fill every slot."""
        if len(batch) == 1:  # marks the event failed if it fails, as a job would
            self._run_alone(batch[0], own)
            self.batches += 1
            self.events += 1
            return
        try:
            with self._session(own) as session:
                outcomes = apply_events(
                    session, [s.work for s in batch], platform_fee_bps=self._platform_fee_bps
                )
            self.batches += 1
            self.events += len(batch)
            for slot in batch:
                slot.follow_ups = _follow_ups(outcomes.get(slot.work.event_pk), slot.work)
                slot.done = True
        except Exception as exc:
            log.warning("a batch of %d payment events failed (%s); one by one", len(batch), exc)
            for slot in batch:
                self._run_alone(slot, own)

    def _run_alone(self, slot: _Slot, own: Session | None) -> None:
        try:
            with self._session(own) as session:
                slot.follow_ups = apply_singly(
                    session, slot.work, platform_fee_bps=self._platform_fee_bps
                )
        except Exception as exc:
            slot.error = exc
        slot.done = True


def _follow_ups(outcome: Outcome | None, work: EventWork) -> list[int]:
    if outcome is None:
        return []
    return [pk for pk in outcome.follow_ups if pk != work.event_pk]
