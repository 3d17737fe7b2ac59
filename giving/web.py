"""Per-request plumbing shared by every blueprint: the database session and the actor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from flask import abort, current_app, g
from flask_login import current_user
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from giving.accounts.models import User


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


def current_actor() -> User | None:
    """The logged-in user, or None for a visitor; passed explicitly into services."""
    if current_user.is_authenticated:
        return cast("User", current_user._get_current_object())
    return None


def require_actor() -> User:
    actor = current_actor()
    if actor is None:
        abort(401)
    return actor


def settings() -> Any:
    return current_app.extensions["giving.settings"]


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
