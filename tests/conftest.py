"""Test fixtures: a schema built by the migrations, and each test rolled back.

The suite runs on SQLite by default and on PostgreSQL with ``--backend postgresql`` (which
needs ``TEST_DATABASE_URL``). On PostgreSQL the server is shared and outlives the run, so the
suite creates its own throwaway databases and drops them at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from giving import create_app
from giving.config import load_settings
from giving.db import make_engine
from giving.migrate import upgrade

# One Playwright and one Chromium for the whole run, shared by every folder's browser tests:
# two sync Playwright instances alive at once refuse to run.
pytest_plugins = ["tests.browser.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="database to test on; postgresql uses TEST_DATABASE_URL",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--backend") == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        raise pytest.UsageError("--backend postgresql needs TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--backend") == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (--backend postgresql)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


class DatabaseFactory:
    """Creates migrated databases: one template per run, cheap copies for tests that commit."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self.created: list[str] = []
        self._admin_engine: Engine | None = None
        if backend == "postgresql":
            server_url = make_url(
                load_settings({"DATABASE_URL": os.environ["TEST_DATABASE_URL"]}).database_url
            )
            self._server_url = server_url
            self._admin_engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.template_url = self._new_empty("template")
        upgrade(self.template_url)

    def _name(self, label: str) -> str:
        return f"giving_test_{os.getpid()}_{label}_{uuid.uuid4().hex[:8]}"

    def _new_empty(self, label: str, template: str | None = None) -> str:
        name = self._name(label)
        if self.backend == "sqlite":
            path = self.workdir / f"{name}.db"
            if template is not None:
                shutil.copyfile(make_url(template).database or "", path)
            return f"sqlite:///{path}"
        assert self._admin_engine is not None
        with self._admin_engine.connect() as conn:
            clause = f' TEMPLATE "{make_url(template).database}"' if template else ""
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)
        return self._server_url.set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        """A new migrated database the caller may commit to freely."""
        return self._new_empty("fresh", template=self.template_url)

    def drop_all(self) -> None:
        if self._admin_engine is None:
            return
        with self._admin_engine.connect() as conn:
            for name in reversed(self.created):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin_engine.dispose()


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--backend"))


@pytest.fixture(scope="session")
def database_factory(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(backend, tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def database_url(database_factory: DatabaseFactory) -> str:
    """The shared migrated database; tests reach it only through rolled-back transactions."""
    return database_factory.fresh()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[sa.Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: sa.Connection) -> sessionmaker[Session]:
    # Services and views commit; inside a test those commits release savepoints, and the
    # outer transaction is rolled back at the end, so no test sees another's data.
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    sess = session_factory()
    yield sess
    sess.close()


@pytest.fixture
def instance_path(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override per test module to change Flask config (e.g. turn CSRF back on)."""
    return {}


@pytest.fixture
def make_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    database_url: str,
    instance_path: Path,
) -> Callable[..., Flask]:
    def _make(**overrides: Any) -> Flask:
        # GIVING_* overrides are settings; the page micro-cache is off unless a test asks,
        # since most tests read a page, change the data and expect to see the change.
        environ = {
            "GIVING_INSTANCE": str(instance_path),
            "DATABASE_URL": database_url,
            "GIVING_PAGE_CACHE_SECONDS": "0",
        }
        environ.update({k: overrides.pop(k) for k in list(overrides) if k.startswith("GIVING_")})
        settings = load_settings(environ)
        config: dict[str, Any] = {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "ENGINE": engine,
            "SESSION_FACTORY": session_factory,
            "SERVER_NAME": "giving.test",
        }
        config.update(overrides)
        return create_app(config=config, settings=settings)

    return _make


@pytest.fixture
def app(make_app: Callable[..., Flask], app_config: dict[str, Any]) -> Flask:
    return make_app(**app_config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
