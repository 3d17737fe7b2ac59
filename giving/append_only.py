"""Append-only tables: the triggers by which the database itself refuses to change history.

Ledger entries, raw webhook events, access logs, report versions and the like are evidence;
the application never updates or deletes them, and neither may anyone with a database
connection (non-negotiable 1). Every migration that adds such a table calls
:func:`refuse_changes` (and :func:`allow_changes` in its downgrade), so the rule reads and
behaves the same on SQLite and PostgreSQL everywhere:

* PostgreSQL: one row trigger ``<table>_append_only`` BEFORE UPDATE OR DELETE (or, for a
  table refusing only one of them, ``<table>_no_update`` / ``<table>_no_delete``), and, when
  DELETE is refused, a statement trigger ``<table>_no_truncate``, which a row trigger would
  not catch. They run a function raising ``<table> is append-only: <operation> refused``.
* SQLite: ``<table>_no_update`` and ``<table>_no_delete``, raising the same message (SQLite
  has no TRUNCATE; ``DELETE FROM t`` fires the row trigger).

The names are the ones the first migrations wrote by hand, so the tamper tests that look
for them hold before and after those migrations were moved onto this helper. Migrations
0002 to 0007 keep their own PostgreSQL function names and 0003 its own message
(``function``, ``message``, ``separate_triggers``); new migrations use the defaults.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op

REFUSE_CHANGE = "giving_refuse_change"
_ACTIONS = ("UPDATE", "DELETE")


def create_refuse_function(name: str = REFUSE_CHANGE, *, message: str | None = None) -> None:
    """The PostgreSQL trigger function; ``message`` replaces the table-and-operation one."""
    if op.get_bind().dialect.name != "postgresql":
        return
    raise_ = (
        f"RAISE EXCEPTION '{_sql_text(message)}';"
        if message is not None
        else "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;"
    )
    op.execute(
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n    {raise_}\nEND\n$$;"
    )


def drop_refuse_function(name: str) -> None:
    """Drop a migration's own function (never the shared default: other tables use it)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def refuse_changes(
    table: str,
    *,
    refuse: Iterable[str] = _ACTIONS,
    function: str = REFUSE_CHANGE,
    message: str | None = None,
    separate_triggers: bool = False,
    if_missing: bool = False,
) -> None:
    """Make ``table`` refuse the ``refuse`` operations (UPDATE, DELETE) on both databases.

    With the default ``function`` the shared function is (re)created first; a migration
    naming its own must have created it with :func:`create_refuse_function`.
    ``message`` is SQLite's text (PostgreSQL's comes from the function);
    ``separate_triggers`` gives PostgreSQL one trigger per operation, as migration 0003 did.
    ``if_missing`` is for SQLite after a batch ALTER, which rebuilds a table without its
    triggers: it creates only those that are gone.
    """
    actions = _checked(refuse)
    dialect = op.get_bind().dialect.name
    if if_missing and dialect != "sqlite":
        raise ValueError("only SQLite loses triggers in a batch rebuild")
    if dialect == "postgresql":
        if function == REFUSE_CHANGE:
            create_refuse_function()
        for name, events in _pg_row_triggers(table, actions, separate_triggers):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {' OR '.join(events)} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
        if "DELETE" in actions:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    elif dialect == "sqlite":
        for action in actions:
            text = message if message is not None else f"{table} is append-only: {action} refused"
            create = "CREATE TRIGGER IF NOT EXISTS" if if_missing else "CREATE TRIGGER"
            op.execute(
                f"{create} {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{_sql_text(text)}'); END"
            )
    else:  # pragma: no cover - Giving runs on SQLite and PostgreSQL only
        raise NotImplementedError(f"no append-only triggers for {dialect}")


def allow_changes(
    table: str, *, refuse: Iterable[str] = _ACTIONS, separate_triggers: bool = False
) -> None:
    """Drop what :func:`refuse_changes` made for ``table`` (for a migration's downgrade)."""
    actions = _checked(refuse)
    if op.get_bind().dialect.name == "postgresql":
        for name, _events in _pg_row_triggers(table, actions, separate_triggers):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        if "DELETE" in actions:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        return
    for action in actions:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action.lower()}")


def _pg_row_triggers(
    table: str, actions: tuple[str, ...], separate: bool
) -> list[tuple[str, tuple[str, ...]]]:
    if len(actions) == len(_ACTIONS) and not separate:
        return [(f"{table}_append_only", actions)]
    return [(f"{table}_no_{action.lower()}", (action,)) for action in actions]


def _checked(refuse: Iterable[str]) -> tuple[str, ...]:
    wanted = {action.upper() for action in refuse}
    if not wanted or not wanted <= set(_ACTIONS):
        raise ValueError(f"refuse UPDATE and/or DELETE, not {sorted(wanted)}")
    return tuple(action for action in _ACTIONS if action in wanted)


def _sql_text(text: str) -> str:
    return text.replace("'", "''")
