"""Handling webhook events as jobs: inline without Redis, on an RQ worker with ``REDIS_URL``.

Inline, the webhook request itself runs the handler after the event is committed (and then
any parked events the payment unblocked); a failure answers 500 so Stripe redelivers. On
RQ the request only enqueues; ``run_event_job`` is the worker's entry point and builds its
own database session and provider from the environment, like any other worker process.
Either way every step is idempotent, so a retry never records twice.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from giving.config import load_settings
from giving.db import make_engine, make_session_factory
from giving.payments.config import PaymentsConfig, payments_config
from giving.payments.gateway import PaymentGateway, StripeDict
from giving.payments.handlers import (
    apply_singly,
    gather_event,
    handle_stored_event,
    records_payment,
)
from giving.payments.models import EventStatus, StripeEventState
from giving.payments.sequencer import PaymentSequencer

log = logging.getLogger(__name__)

GatewayFactory = Callable[[Session], PaymentGateway]
RETRY_INTERVALS = [10, 60, 300, 1800, 3600]


def make_gateway(config: PaymentsConfig, session: Session) -> PaymentGateway:
    """The configured provider: Stripe with a secret key, else the sandbox in ``session``."""
    if config.provider == "stripe":
        from giving.payments.stripe_gateway import StripeGateway

        return StripeGateway(config)
    from giving.payments.sandbox import SandboxGateway

    return SandboxGateway(session)


def run_event_and_follow_ups(
    session: Session,
    gateway: PaymentGateway,
    event_pk: int,
    *,
    platform_fee_bps: int,
    quiet: bool = False,
) -> None:
    """Handle an event, then every parked event it unblocked; only the first may raise.

    ``quiet``: ``event_pk`` is itself a follow-up, so its failure is logged, not raised.
    """
    queue = deque([event_pk])
    seen: set[int] = set()
    first = not quiet
    while queue:
        pk = queue.popleft()
        if pk in seen:
            continue
        seen.add(pk)
        try:
            follow_ups = handle_stored_event(
                session, gateway, event_pk=pk, platform_fee_bps=platform_fee_bps
            )
        except Exception:
            if first:
                raise
            # Left "failed": a redelivery or `giving payments retry-events` runs it again.
            log.exception("parked webhook event %s failed when its payment arrived", pk)
            follow_ups = []
        first = False
        queue.extend(follow_ups)


@dataclass
class InlineRunner:
    """Handles events in the caller's process, right after they are stored.

    With a ``sequencer`` (the app's, when its sessions have connections of their own) a
    payment event whose body the caller passes is applied in a batch with the payments of
    concurrent requests; everything else, and every follow-up, in the caller's session.
    """

    config: PaymentsConfig
    gateway_factory: GatewayFactory | None = None
    sequencer: PaymentSequencer | None = None

    def submit(self, session: Session, event_pk: int, event: StripeDict | None = None) -> None:
        factory = self.gateway_factory or functools.partial(make_gateway, self.config)
        gateway = factory(session)
        if event is None:
            run_event_and_follow_ups(
                session, gateway, event_pk, platform_fee_bps=self.config.platform_fee_bps
            )
            return
        # A new event: its body is at hand, so it is not read back from the database.
        work = gather_event(session, gateway, event_pk, event)
        if work is None:
            return
        if self.sequencer is not None and records_payment(event):
            follow_ups = self.sequencer.apply(work, session)
        else:
            follow_ups = apply_singly(session, work, platform_fee_bps=self.config.platform_fee_bps)
        for pk in follow_ups:
            run_event_and_follow_ups(
                session, gateway, pk, platform_fee_bps=self.config.platform_fee_bps, quiet=True
            )


@dataclass
class RQRunner:
    """Enqueues handling on Redis for an RQ worker (``rq worker giving-webhooks``)."""

    config: PaymentsConfig

    def submit(self, session: Session, event_pk: int, event: StripeDict | None = None) -> None:
        del session, event  # the worker opens its own session and reads the stored event
        enqueue_event(self.config, event_pk)


def enqueue_event(config: PaymentsConfig, event_pk: int, *, queue_name: str | None = None) -> None:
    from redis import Redis
    from rq import Queue, Retry

    assert config.redis_url, "RQ jobs need REDIS_URL"
    queue = Queue(queue_name or config.queue_name, connection=Redis.from_url(config.redis_url))
    queue.enqueue(
        run_event_job,
        event_pk,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        description=f"Stripe event {event_pk}",
    )


def make_runner(
    config: PaymentsConfig,
    gateway_factory: GatewayFactory | None = None,
    sequencer: PaymentSequencer | None = None,
) -> InlineRunner | RQRunner:
    if config.jobs == "rq":
        return RQRunner(config)
    return InlineRunner(config, gateway_factory, sequencer)


@dataclass(frozen=True)
class WorkerContext:
    config: PaymentsConfig
    session_factory: sessionmaker[Session]


@functools.cache
def worker_context() -> WorkerContext:
    """What a worker process needs, built once from its environment."""
    settings = load_settings()
    return WorkerContext(
        config=payments_config(settings),
        session_factory=make_session_factory(make_engine(settings.database_url)),
    )


def run_event_job(event_pk: int) -> None:
    """RQ entry point: handle one stored event; parked events it unblocks become new jobs."""
    from rq import get_current_job

    context = worker_context()
    session = context.session_factory()
    try:
        follow_ups = handle_stored_event(
            session,
            make_gateway(context.config, session),
            event_pk=event_pk,
            platform_fee_bps=context.config.platform_fee_bps,
        )
    finally:
        session.close()
    job = get_current_job()
    for pk in follow_ups:
        enqueue_event(context.config, pk, queue_name=job.origin if job is not None else None)


def retry_failed_events(session: Session, runner: InlineRunner | RQRunner) -> int:
    """Run every failed event again (the CLI's ``giving payments retry-events``)."""
    import sqlalchemy as sa

    pks = list(
        session.scalars(
            sa.select(StripeEventState.event_pk)
            .where(
                StripeEventState.status.in_((EventStatus.FAILED.value, EventStatus.RECEIVED.value))
            )
            .order_by(StripeEventState.event_pk)
        )
    )
    session.commit()
    done = 0
    for pk in pks:
        try:
            runner.submit(session, pk)
            done += 1
        except Exception:
            log.exception("webhook event %s failed again", pk)
    return done
