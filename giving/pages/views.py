"""Site-wide pages: the home page, the language switch and a health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from giving.i18n import LANGUAGE_COOKIE, LANGUAGES
from giving.web import db_session

bp = Blueprint("pages", __name__)


@bp.route("/")
def home() -> ResponseReturnValue:
    return render_template("pages/home.html")


@bp.route("/language/<lang>")
def set_language(lang: str) -> ResponseReturnValue:
    """Remember the visitor's choice; it overrides the browser's Accept-Language."""
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("pages.home")
    response = redirect(target)
    if lang in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
    return response


@bp.route("/healthz")
def health() -> ResponseReturnValue:
    db_session().execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
