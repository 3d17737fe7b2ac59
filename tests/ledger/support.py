"""Helpers for ledger tests: campaigns to post against, common entries, trigger removal."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.db import make_engine, make_session_factory
from giving.ledger.models import LedgerEntry
from giving.ledger.rules import fund_account
from giving.ledger.services import Posting, append_entry

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
_clock = itertools.count()


def moment() -> dt.datetime:
    """Distinct, increasing, microsecond-exact instants for entries."""
    return T0 + dt.timedelta(minutes=next(_clock), microseconds=123)


def add_campaign(session: Session, public_id: str | None = None, currency: str = "CNY") -> str:
    """Insert a live campaign (and its organiser) and return its public id."""
    public_id = public_id or f"cmp_{uuid.uuid4().hex[:12]}"
    user = User(
        email=f"{public_id.lower()}@example.org",
        display_name="Organiser",
        password_hash="x",
        session_token=uuid.uuid4().hex,
    )
    session.add(user)
    session.flush()
    session.add(
        Campaign(
            public_id=public_id,
            slug=public_id.lower().replace("_", "-"),
            title="School books for Yunnan",
            summary="Books",
            story="A story",
            goal_minor=1_000_000,
            currency=currency,
            region="yunnan",
            category="education",
            state="live",
            created_by_id=user.id,
        )
    )
    session.flush()
    return public_id


def donate(
    session: Session,
    campaign: str,
    amount: int,
    *,
    currency: str = "CNY",
    ref: str | None = None,
    processor: str = "stripe",
) -> LedgerEntry:
    return append_entry(
        session,
        campaign=campaign,
        kind="donation",
        postings=[
            Posting(f"processor:{processor}", amount, currency),
            Posting(fund_account(campaign), -amount, currency),
        ],
        occurred_at=moment(),
        ref=ref,
    )


def spend(
    session: Session,
    campaign: str,
    kind: str,
    amount: int,
    counter: str,
    *,
    currency: str = "CNY",
    reverses: int | None = None,
    ref: str | None = None,
) -> LedgerEntry:
    """An entry that debits the fund: fees, refunds, disputes, disbursements."""
    return append_entry(
        session,
        campaign=campaign,
        kind=kind,
        postings=[
            Posting(fund_account(campaign), amount, currency),
            Posting(counter, -amount, currency),
        ],
        occurred_at=moment(),
        reverses=reverses,
        ref=ref,
    )


def reverse(session: Session, entry: LedgerEntry, memo: str = "correction") -> LedgerEntry:
    return append_entry(
        session,
        campaign=entry.campaign,
        kind="reversal",
        postings=[Posting(p.account, -p.amount, p.currency) for p in entry.postings],
        occurred_at=moment(),
        reverses=entry.seq,
        memo=memo,
    )


def count_entries(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) or 0)


@contextmanager
def committed_database(url: str) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    """An engine and session factory on a scratch database whose commits are real."""
    engine = make_engine(url)
    try:
        yield engine, make_session_factory(engine)
    finally:
        engine.dispose()


def ledger_triggers(connection: sa.Connection) -> list[tuple[str, str]]:
    """(trigger, table) of every trigger on the ledger tables."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
        )
    else:
        rows = connection.exec_driver_sql(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal"
        )
    return [(str(name), str(table)) for name, table in rows if str(table).startswith("ledger_")]


def drop_ledger_triggers(engine: Engine) -> None:
    """What an attacker with database access would do first: remove the append-only rule."""
    with engine.begin() as conn:
        for name, table in ledger_triggers(conn):
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            else:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}" ON "{table}"')
