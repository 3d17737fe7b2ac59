"""Site-wide pages: the home page, the language switch and a health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from giving.campaigns import queries
from giving.i18n import LANGUAGE_COOKIE, LANGUAGES
from giving.redirects import next_target
from giving.web import db_session

bp = Blueprint("pages", __name__)


@bp.route("/")
def home() -> ResponseReturnValue:
    session = db_session()
    featured = queries.featured_campaigns(session, limit=3)
    # The newest list leaves out what is already featured above it.
    shown = {campaign.id for campaign in featured}
    newest = [
        c for c in queries.newest_campaigns(session, limit=6 + len(shown)) if c.id not in shown
    ]
    newest = newest[:6]
    return render_template(
        "pages/home.html",
        featured=featured,
        newest=newest,
        progress=queries.progress_by_campaign(session, [*featured, *newest]),
    )


@bp.route("/language/<lang>")
def set_language(lang: str) -> ResponseReturnValue:
    """Remember the visitor's choice; it overrides the browser's Accept-Language."""
    response = redirect(next_target(url_for("pages.home")))
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
