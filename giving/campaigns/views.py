"""Campaign pages (placeholder until the campaigns work lands)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

bp = Blueprint("campaigns", __name__)


@bp.route("/campaigns")
def list_campaigns() -> ResponseReturnValue:
    return ""


@bp.route("/my/campaigns")
def my_campaigns() -> ResponseReturnValue:
    return ""
