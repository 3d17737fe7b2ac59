"""giving/append_only.py: the one helper every migration uses for append-only tables.

Its output is part of the schema's history: migrations 0002 to 0008 create their triggers
through it, so the names below are the ones those migrations wrote by hand before, and the
tamper tests elsewhere (tests/ledger/test_immutability.py and others) keep finding them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from giving.append_only import allow_changes, create_refuse_function, refuse_changes
from giving.db import make_engine
from giving.migrate import downgrade, upgrade
from tests.conftest import DatabaseFactory

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"

FULL = ("_append_only", "_no_truncate")  # PostgreSQL, for a table refusing UPDATE and DELETE
POSTGRES_TRIGGERS = {
    **{
        f"{table}{suffix}": table
        for table in (
            "child_access_log",
            "disbursement_activity",
            "disbursement_evidence_children",
            "ledger_checkpoints",
            "ledger_entries",
            "ledger_nodes",
            "ledger_postings",
            "ledger_submissions",
            "report_downloads",
            "report_signoffs",
            "report_versions",
        )
        for suffix in FULL
    },
    "disbursement_evidence_no_delete": "disbursement_evidence",
    "disbursement_evidence_no_truncate": "disbursement_evidence",
    "ledger_pending_no_update": "ledger_pending",
    "stripe_events_no_update": "stripe_events",
    "stripe_events_no_delete": "stripe_events",
    "stripe_events_no_truncate": "stripe_events",
}
SQLITE_TRIGGERS = {
    **{
        f"{table}_no_{action}": table
        for table in (
            "child_access_log",
            "disbursement_activity",
            "disbursement_evidence_children",
            "ledger_checkpoints",
            "ledger_entries",
            "ledger_nodes",
            "ledger_postings",
            "ledger_submissions",
            "report_downloads",
            "report_signoffs",
            "report_versions",
            "stripe_events",
        )
        for action in ("update", "delete")
    },
    "disbursement_evidence_no_delete": "disbursement_evidence",
    "ledger_pending_no_update": "ledger_pending",
}
# Triggers that guard columns or sealing rather than refuse a whole operation.
OTHER_TRIGGERS = {
    "disbursement_evidence_consent_fixed",
    "disbursement_evidence_original_fixed",
    "ledger_entries_check_seal",
    "ledger_nodes_check_aligned",
    "ledger_postings_check_unsealed",
}


def _triggers(connection: sa.Connection) -> dict[str, str]:
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
        )
    else:
        rows = connection.exec_driver_sql(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal"
        )
    return {str(name): str(table) for name, table in rows}


def test_the_migrated_schema_has_the_first_migrations_trigger_names(
    connection: sa.Connection,
) -> None:
    expected = POSTGRES_TRIGGERS if connection.dialect.name == "postgresql" else SQLITE_TRIGGERS
    found = _triggers(connection)
    assert {name: table for name, table in found.items() if name not in OTHER_TRIGGERS} == expected
    assert found.keys() >= OTHER_TRIGGERS


@pytest.fixture
def ops(connection: sa.Connection) -> Iterator[Operations]:
    """Alembic operations on the test's rolled-back connection, with a scratch table."""
    connection.exec_driver_sql("CREATE TABLE scratch_history (id INTEGER PRIMARY KEY, note TEXT)")
    connection.exec_driver_sql("INSERT INTO scratch_history (id, note) VALUES (1, 'first')")
    operations = Operations(MigrationContext.configure(connection))
    with Operations.context(operations.migration_context):
        yield operations


def _refusal(connection: sa.Connection, statement: str) -> str:
    with pytest.raises(sa.exc.DBAPIError) as info, connection.begin_nested():
        connection.exec_driver_sql(statement)
    return str(info.value.orig)


def _runs(connection: sa.Connection, statement: str) -> None:
    with connection.begin_nested():
        connection.exec_driver_sql(statement)


@pytest.mark.usefixtures("ops")
def test_a_new_table_refuses_update_delete_and_truncate(connection: sa.Connection) -> None:
    refuse_changes("scratch_history")
    _runs(connection, "INSERT INTO scratch_history (id, note) VALUES (2, 'second')")
    assert "scratch_history is append-only: UPDATE refused" in _refusal(
        connection, "UPDATE scratch_history SET note = 'rewritten'"
    )
    assert "scratch_history is append-only: DELETE refused" in _refusal(
        connection, "DELETE FROM scratch_history"
    )
    if connection.dialect.name == "postgresql":
        assert "append-only" in _refusal(connection, "TRUNCATE scratch_history")
        names = {n for n, t in _triggers(connection).items() if t == "scratch_history"}
        assert names == {"scratch_history_append_only", "scratch_history_no_truncate"}
    assert connection.exec_driver_sql("SELECT count(*) FROM scratch_history").scalar() == 2


@pytest.mark.usefixtures("ops")
def test_a_queue_may_refuse_rewrites_only(connection: sa.Connection) -> None:
    create_refuse_function("scratch_refuse_change")
    refuse_changes(
        "scratch_history",
        refuse=["UPDATE"],
        function="scratch_refuse_change",
        message="scratch_history: queued rows are not edited",
    )
    expected = (
        "queued rows are not edited"
        if connection.dialect.name == "sqlite"
        else "scratch_history is append-only: UPDATE refused"
    )
    assert expected in _refusal(connection, "UPDATE scratch_history SET note = 'x'")
    _runs(connection, "DELETE FROM scratch_history")
    if connection.dialect.name == "postgresql":
        _runs(connection, "TRUNCATE scratch_history")


@pytest.mark.usefixtures("ops")
def test_allow_changes_undoes_exactly_what_refuse_changes_made(
    connection: sa.Connection,
) -> None:
    before = _triggers(connection)
    refuse_changes("scratch_history", separate_triggers=True)
    assert len(_triggers(connection)) > len(before)
    allow_changes("scratch_history", separate_triggers=True)
    assert _triggers(connection) == before
    _runs(connection, "UPDATE scratch_history SET note = 'now allowed'")
    _runs(connection, "DELETE FROM scratch_history")


@pytest.mark.usefixtures("ops")
def test_nonsense_operations_are_refused_before_any_sql() -> None:
    with pytest.raises(ValueError, match="UPDATE and/or DELETE"):
        refuse_changes("scratch_history", refuse=["INSERT"])
    with pytest.raises(ValueError, match="UPDATE and/or DELETE"):
        refuse_changes("scratch_history", refuse=[])


_HAND_WRITTEN = re.compile(r"BEFORE TRUNCATE|UPDATE OR DELETE|is append-only:", re.IGNORECASE)


def test_no_migration_writes_append_only_triggers_by_hand() -> None:
    """Future tables get the same rule the same way: through giving/append_only.py."""
    offenders = [
        path.name for path in MIGRATIONS.glob("*.py") if _HAND_WRITTEN.search(path.read_text())
    ]
    assert offenders == []


def test_every_migration_downgrades_to_nothing_and_upgrades_to_the_same_triggers(
    database_factory: DatabaseFactory,
) -> None:
    url = database_factory.fresh()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            migrated = _triggers(connection)
        downgrade(url, "base")
        with engine.connect() as connection:
            assert _triggers(connection) == {}
            left = sa.inspect(connection).get_table_names()
            assert left == ["alembic_version"]
            if connection.dialect.name == "postgresql":
                functions = connection.exec_driver_sql(
                    "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
                )
                assert functions.all() == []
        upgrade(url)
        with engine.connect() as connection:
            assert _triggers(connection) == migrated
    finally:
        engine.dispose()
