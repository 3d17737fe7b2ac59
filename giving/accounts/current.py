"""Who the request is from: the logged-in user, passed explicitly into services."""

from __future__ import annotations

from typing import cast

from flask import abort, current_app
from flask_babel import gettext as _
from flask_login import current_user

from giving.accounts.models import User
from giving.errors import PermissionDenied


def current_actor() -> User | None:
    """The logged-in user, or None for a visitor; passed explicitly into services."""
    if current_user.is_authenticated:
        return cast(User, current_user._get_current_object())
    return None


def require_actor() -> User:
    actor = current_actor()
    if actor is None:
        abort(401)
    return actor


def require_admin(message: str | None = None) -> User:
    """The logged-in admin, the one guard of every admin page: a visitor is sent to log in
    first, and anyone else is refused (403) with ``message`` or a general one."""
    actor = current_actor()
    if actor is None:
        login_manager = current_app.login_manager  # type: ignore[attr-defined]
        abort(login_manager.unauthorized())
    if not actor.is_admin:
        raise PermissionDenied(message or _("Only admins can open this page."))
    return actor
