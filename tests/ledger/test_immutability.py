"""The database itself keeps the ledger append-only and refuses unsealable entries.

These go around the services with plain SQL, as a bug or an intruder with a database
connection would, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from giving.db import utcnow
from giving.ledger.canonical import GENESIS_CHAIN_HASH
from giving.ledger.models import LedgerEntry, LedgerPosting
from giving.ledger.sealer import queue_entry, seal_queued
from giving.ledger.services import Posting, make_checkpoint
from tests.ledger.support import add_campaign, count_entries, donate, moment


def refused(session: Session, statement: Any, params: Any = None) -> str:
    """Run ``statement`` in a savepoint and return the database's refusal message."""
    with pytest.raises(sa.exc.DBAPIError) as info, session.begin_nested():
        session.execute(statement, params)
    return str(info.value.orig)


@pytest.fixture
def campaign(session: Session) -> str:
    campaign = add_campaign(session, "cmp_append_only")
    donate(session, campaign, 1_000, ref="ch_1:donation")
    donate(session, campaign, 2_000, ref="ch_2:donation")
    make_checkpoint(session, Ed25519PrivateKey.generate(), origin="giving.test/ledger")
    token = queue_entry(
        session,
        campaign=campaign,
        kind="donation",
        postings=[
            Posting("processor:stripe", 5, "CNY"),
            Posting(f"campaign:{campaign}:fund", -5, "CNY"),
        ],
        occurred_at=moment(),
    )
    seal_queued(session)
    assert token
    return campaign


APPEND_ONLY = [
    ("ledger_entries", "memo = 'edited'"),
    ("ledger_postings", "amount = amount * 2"),
    ("ledger_nodes", "height = height"),
    ("ledger_checkpoints", "note = 'forged'"),
    ("ledger_submissions", "error = 'x'"),
]


@pytest.mark.parametrize(("table", "change"), APPEND_ONLY, ids=[t for t, _ in APPEND_ONLY])
def test_ledger_rows_cannot_be_updated(
    session: Session, campaign: str, table: str, change: str
) -> None:
    message = refused(session, sa.text(f"UPDATE {table} SET {change}"))
    assert "append-only" in message
    assert "UPDATE" in message


@pytest.mark.parametrize("table", [t for t, _ in APPEND_ONLY])
def test_ledger_rows_cannot_be_deleted(session: Session, campaign: str, table: str) -> None:
    message = refused(session, sa.text(f"DELETE FROM {table}"))
    assert "append-only" in message
    assert "DELETE" in message


@pytest.mark.postgres_only
@pytest.mark.parametrize("table", [t for t, _ in APPEND_ONLY])
def test_ledger_tables_cannot_be_truncated(session: Session, table: str) -> None:
    # No rows needed (statement-level trigger); rows inserted in this transaction would leave
    # deferred foreign-key events that make PostgreSQL refuse TRUNCATE for its own reason.
    assert "append-only" in refused(session, sa.text(f"TRUNCATE {table} CASCADE"))


def test_queued_entries_may_be_taken_off_the_queue_but_not_rewritten(
    session: Session, campaign: str
) -> None:
    queue_entry(
        session,
        campaign=campaign,
        kind="donation",
        postings=[
            Posting("processor:stripe", 5, "CNY"),
            Posting(f"campaign:{campaign}:fund", -5, "CNY"),
        ],
        occurred_at=moment(),
    )
    message = refused(session, sa.text("UPDATE ledger_pending SET submitted_at = submitted_at"))
    assert "ledger_pending" in message
    session.execute(sa.text("DELETE FROM ledger_pending"))  # what the sealer does
    assert session.scalar(sa.text("SELECT COUNT(*) FROM ledger_pending")) == 0


def _head(session: Session) -> tuple[int, bytes]:
    last = session.execute(
        sa.select(LedgerEntry.seq, LedgerEntry.chain_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    if last is None:
        return 0, GENESIS_CHAIN_HASH
    return int(last.seq) + 1, bytes(last.chain_hash)


def _raw_entry(campaign: str, seq: int, prev: bytes) -> Any:
    leaf = hashlib.sha256(b"forged %d" % seq).digest()
    return sa.insert(LedgerEntry.__table__).values(
        seq=seq,
        campaign=campaign,
        kind="donation",
        occurred_at=moment(),
        memo="",
        evidence=[],
        leaf_hash=leaf,
        chain_hash=hashlib.sha256(prev + leaf).digest(),
        prev_chain_hash=prev,
        sealed_at=utcnow(),
    )


def _raw_postings(seq: int, campaign: str, amounts: list[int]) -> Any:
    accounts = ["processor:stripe", f"campaign:{campaign}:fund", "processor:sandbox"]
    return sa.insert(LedgerPosting.__table__).values(
        [
            {"entry_seq": seq, "line": i, "account": accounts[i], "amount": a, "currency": "CNY"}
            for i, a in enumerate(amounts)
        ]
    )


def refused_steps(session: Session, *statements: Any) -> str:
    """Run ``statements`` in order in one savepoint; return the refusal of the one that fails."""

    def run() -> None:
        with session.begin_nested():
            for statement in statements:
                session.execute(statement)

    with pytest.raises(sa.exc.DBAPIError) as info:
        run()
    return str(info.value.orig)


def test_the_database_refuses_an_entry_whose_postings_do_not_balance(
    session: Session, campaign: str
) -> None:
    seq, prev = _head(session)
    before = count_entries(session)

    message = refused_steps(
        session, _raw_postings(seq, campaign, [1_000, -999]), _raw_entry(campaign, seq, prev)
    )

    assert "do not balance" in message
    assert count_entries(session) == before


def test_the_database_refuses_an_imbalance_hidden_in_a_third_posting(
    session: Session, campaign: str
) -> None:
    seq, prev = _head(session)

    message = refused_steps(
        session, _raw_postings(seq, campaign, [1_000, -1_000, 1]), _raw_entry(campaign, seq, prev)
    )

    assert "do not balance" in message


def test_a_balanced_raw_entry_that_extends_the_chain_is_accepted(
    session: Session, campaign: str
) -> None:
    """The triggers refuse what is wrong, not everything: the control case."""
    seq, prev = _head(session)
    with session.begin_nested():
        session.execute(_raw_postings(seq, campaign, [1_000, -1_000]))
        session.execute(_raw_entry(campaign, seq, prev))
    assert count_entries(session) == seq + 1


def test_the_database_refuses_an_entry_without_postings(session: Session, campaign: str) -> None:
    seq, prev = _head(session)

    assert "no postings" in refused_steps(session, _raw_entry(campaign, seq, prev))


def test_the_database_refuses_a_gap_in_the_sequence(session: Session, campaign: str) -> None:
    seq, prev = _head(session)

    message = refused_steps(
        session,
        _raw_postings(seq + 1, campaign, [5, -5]),
        _raw_entry(campaign, seq + 1, prev),
    )

    assert "out of sequence" in message


def test_the_database_refuses_a_fork_of_the_chain(session: Session, campaign: str) -> None:
    seq, _ = _head(session)
    sibling_of_last = session.scalar(
        sa.select(LedgerEntry.prev_chain_hash).where(LedgerEntry.seq == seq - 1)
    )
    assert sibling_of_last is not None

    message = refused_steps(
        session,
        _raw_postings(seq, campaign, [5, -5]),
        _raw_entry(campaign, seq, bytes(sibling_of_last)),
    )

    assert "chain hash" in message


def test_postings_cannot_be_added_to_a_sealed_entry(session: Session, campaign: str) -> None:
    message = refused_steps(
        session,
        sa.insert(LedgerPosting.__table__).values(
            entry_seq=0, line=9, account="processor:stripe", amount=5, currency="CNY"
        ),
    )

    assert "already sealed" in message


def test_every_ledger_table_has_its_triggers(session: Session, campaign: str) -> None:
    from tests.ledger.support import ledger_triggers

    names = {name for name, _ in ledger_triggers(session.connection())}
    assert {"ledger_entries_check_seal", "ledger_postings_check_unsealed"} <= names
