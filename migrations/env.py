"""Alembic environment: runs migrations on the given connection or database URL."""

from __future__ import annotations

from typing import Any

from alembic import context

from giving.config import load_settings
from giving.db import UTCDateTime, make_engine
from giving.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or load_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _render_item(type_: str, obj: object, autogen_context: Any) -> str | bool:
    """Render our UTC datetime type with an import, so generated migrations run as written."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from giving.db import UTCDateTime")
        return "UTCDateTime()"
    return False


def _run_on(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_database_url())
    with engine.connect() as conn:
        _run_on(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
