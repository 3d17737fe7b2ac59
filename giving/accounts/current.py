"""Who the request is from: the logged-in user, passed explicitly into services."""

from __future__ import annotations

from typing import cast

from flask import abort
from flask_login import current_user

from giving.accounts.models import User


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
