"""Admin pages (placeholder until the campaigns work lands)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/reviews")
def review_queue() -> ResponseReturnValue:
    return ""
