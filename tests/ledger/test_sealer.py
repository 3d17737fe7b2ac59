"""The batch sealer: writers queue in parallel, one sequencer seals, the rules still hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from giving.db import make_engine, make_session_factory, transaction
from giving.ledger.errors import InvalidEntry
from giving.ledger.models import LedgerEntry, PendingEntry, SealOutcome
from giving.ledger.rules import fund_account
from giving.ledger.sealer import Sealer, queue_entry, wait_for_seal
from giving.ledger.services import Posting
from giving.ledger.verify import verify_ledger
from tests.conftest import DatabaseFactory
from tests.ledger.support import add_campaign, moment

CAMPAIGN = "cmp_sealed"


def gift(amount: int, ref: str | None = None) -> dict[str, object]:
    return {
        "campaign": CAMPAIGN,
        "kind": "donation",
        "postings": [
            Posting("processor:stripe", amount, "CNY"),
            Posting(fund_account(CAMPAIGN), -amount, "CNY"),
        ],
        "occurred_at": moment(),
        "ref": ref,
    }


def refund(amount: int, of: int) -> dict[str, object]:
    return {
        "campaign": CAMPAIGN,
        "kind": "refund",
        "postings": [
            Posting(fund_account(CAMPAIGN), amount, "CNY"),
            Posting("processor:stripe", -amount, "CNY"),
        ],
        "occurred_at": moment(),
        "reverses": of,
    }


@pytest.fixture
def factory(database_factory: DatabaseFactory) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_factory.fresh(), pool_size=20, max_overflow=0)
    factory = make_session_factory(engine)
    with factory() as session, transaction(session):
        add_campaign(session, CAMPAIGN)
    yield factory
    engine.dispose()


def stored_seqs(factory: sessionmaker[Session]) -> list[int]:
    with factory() as session:
        return list(session.scalars(sa.select(LedgerEntry.seq).order_by(LedgerEntry.seq)))


def test_submitted_entries_are_sealed_in_order_and_verify(factory: sessionmaker[Session]) -> None:
    with Sealer(factory) as sealer:
        results = [sealer.submit_entry(**gift(100 * n)) for n in range(1, 6)]

    assert [(r.seq, r.new) for r in results] == [(n, True) for n in range(5)]
    with factory() as session:
        assert verify_ledger(session, None).entries == 5
        assert session.scalar(sa.select(sa.func.count()).select_from(PendingEntry)) == 0


def test_bad_input_is_refused_at_submission_and_never_queued(
    factory: sessionmaker[Session],
) -> None:
    sealer = Sealer(factory)  # not even running
    bad = gift(100)
    bad["postings"] = [
        Posting("processor:stripe", 1.5, "CNY"),
        Posting(fund_account(CAMPAIGN), -1.5, "CNY"),
    ]

    with pytest.raises(InvalidEntry, match="whole numbers of minor units"):
        sealer.submit(**bad)
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(PendingEntry)) == 0


def test_a_refusal_at_sealing_time_reaches_its_writer_and_spares_the_batch(
    factory: sessionmaker[Session],
) -> None:
    with Sealer(factory) as sealer:
        donation = sealer.submit_entry(**gift(1_000))
        # Queued together: the second refund no longer fits once the first is sealed.
        first = sealer.submit(**refund(800, of=donation.seq))
        second = sealer.submit(**refund(800, of=donation.seq))
        third = sealer.submit(**gift(50))

        assert first.result(timeout=30).seq == 1
        refused = r"exceeds the 2\.00 CNY of entry 0 not yet refunded"
        with pytest.raises(InvalidEntry, match=refused):
            second.result(timeout=30)
        assert third.result(timeout=30).seq == 2

    with factory() as session:
        errors = list(
            session.scalars(sa.select(SealOutcome.error).where(SealOutcome.seq.is_(None)))
        )
        assert len(errors) == 1
        assert "exceeds the 2.00 CNY" in errors[0]


def test_a_repeated_reference_resolves_to_the_first_entry(factory: sessionmaker[Session]) -> None:
    with Sealer(factory) as sealer:
        first = sealer.submit(**gift(700, ref="ch_9:donation"))
        again = sealer.submit(**gift(700, ref="ch_9:donation"))
        results = [first.result(timeout=30), again.result(timeout=30)]

    assert [r.seq for r in results] == [0, 0]
    assert sorted(r.new for r in results) == [False, True]
    assert stored_seqs(factory) == [0]


def test_sixteen_writers_through_the_sealer_leave_no_gap(factory: sessionmaker[Session]) -> None:
    with Sealer(factory) as sealer:

        def writer(number: int) -> list[int]:
            futures = [sealer.submit(**gift(10 + number)) for _ in range(10)]
            return [f.result(timeout=60).seq for f in futures]

        with ThreadPoolExecutor(16) as pool:
            seqs = [s for batch in pool.map(writer, range(16)) for s in batch]

    assert sorted(seqs) == list(range(160))
    assert stored_seqs(factory) == list(range(160))
    assert sealer.batches < 160  # entries really were sealed together
    with factory() as session:
        assert verify_ledger(session, None).entries == 160


def test_an_entry_queued_by_another_process_is_sealed_by_the_seal_command(
    factory: sessionmaker[Session], make_app: Callable[..., Flask]
) -> None:
    with factory() as session, transaction(session):
        token = queue_entry(session, **gift(4_200))  # type: ignore[arg-type]
    app = make_app(ENGINE=factory.kw["bind"], SESSION_FACTORY=factory)

    result = app.test_cli_runner().invoke(args=["ledger", "seal", "--once"])

    assert result.exit_code == 0, result.output
    assert "Sealed 1 queued entries." in result.output
    assert wait_for_seal(factory, token, timeout=5).seq == 0
