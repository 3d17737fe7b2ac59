"""Concurrent writers, each in its own connection and committed transaction.

The sequence must stay gap-free and unforked and a repeated external reference must record
once, whoever wins the race.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from giving.db import make_engine, make_session_factory, transaction
from giving.ledger.models import LedgerEntry
from giving.ledger.verify import verify_ledger
from tests.conftest import DatabaseFactory
from tests.ledger.support import add_campaign, donate

WRITERS = 16


def run_writers(
    factory: sessionmaker[Session], work: Callable[[Session, int], object], per_writer: int
) -> list[object]:
    """Start WRITERS threads together; each runs ``work`` ``per_writer`` times, one commit each."""
    start = threading.Barrier(WRITERS)

    def writer(number: int) -> list[object]:
        start.wait()
        done = []
        for _ in range(per_writer):
            with factory() as session, transaction(session):
                done.append(work(session, number))
        return done

    with ThreadPoolExecutor(WRITERS) as pool:
        return [r for rs in pool.map(writer, range(WRITERS)) for r in rs]


@pytest.fixture
def scratch(database_factory: DatabaseFactory) -> Iterator[tuple[sessionmaker[Session], str]]:
    engine = make_engine(database_factory.fresh(), pool_size=WRITERS + 2, max_overflow=0)
    factory = make_session_factory(engine)
    with factory() as session, transaction(session):
        campaign = add_campaign(session, "cmp_race")
    yield factory, campaign
    engine.dispose()


@pytest.mark.postgres_only
def test_sixteen_concurrent_writers_never_leave_a_gap_or_fork(
    scratch: tuple[sessionmaker[Session], str],
) -> None:
    factory, campaign = scratch

    seqs = run_writers(factory, lambda s, n: donate(s, campaign, 100 + n).seq, per_writer=12)

    assert sorted(seqs) == list(range(WRITERS * 12))  # type: ignore[type-var]
    with factory() as session:
        stored = list(session.scalars(sa.select(LedgerEntry.seq).order_by(LedgerEntry.seq)))
        assert stored == list(range(WRITERS * 12))
        assert verify_ledger(session, None).entries == WRITERS * 12


def test_the_same_reference_appended_concurrently_is_recorded_once(
    scratch: tuple[sessionmaker[Session], str],
) -> None:
    factory, campaign = scratch

    seqs = run_writers(
        factory, lambda s, n: donate(s, campaign, 5_000, ref="ch_dup:donation").seq, per_writer=1
    )

    assert set(seqs) == {0}
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 1
