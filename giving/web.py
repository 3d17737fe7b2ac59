"""Per-request plumbing shared by every blueprint: the database session and the log-in check.

The actor (who is logged in) is giving/accounts/current.py: it is a User, and this module
sits below the accounts package."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar, cast

from flask import current_app, g
from flask_login import current_user
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def db_session(*, hold_connection: bool = False) -> Session:
    """The request's session, opened on first use and closed at teardown.

    ``hold_connection``: the session keeps one pooled connection for the whole request
    instead of returning it at each commit, for a request of several short transactions
    (the Stripe webhook has three): each checkout costs a ping (``pool_pre_ping``).
    """
    session = g.get("db_session")
    if session is None:
        factory = cast(sessionmaker[Session], current_app.extensions["giving.sessionmaker"])
        bind = factory.kw.get("bind")
        if hold_connection and isinstance(bind, Engine):
            g.db_connection = bind.connect()
            session = factory(bind=g.db_connection)
        else:
            session = factory()
        g.db_session = session
    return cast(Session, session)


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
    connection = g.pop("db_connection", None)
    if connection is not None:
        connection.close()


P = ParamSpec("P")
R = TypeVar("R")


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Flask-Login's check with types kept: visitors are sent to log in first."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated:
            login_manager = current_app.login_manager  # type: ignore[attr-defined]
            return cast(R, login_manager.unauthorized())
        return view(*args, **kwargs)

    return wrapper
