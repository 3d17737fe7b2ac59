"""Error pages: every failure a person can cause ends in a clear 4xx page, never a 500."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError

from giving.errors import DomainError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


def _titles() -> dict[int, str]:
    return {
        400: gettext("That request was not understood"),
        401: gettext("Please log in"),
        403: gettext("You may not do that"),
        404: gettext("We could not find that page"),
        405: gettext("That action is not allowed here"),
        409: gettext("That clashes with the current state"),
        413: gettext("That file is too large"),
        429: gettext("Too many attempts; please wait a minute and try again"),
        500: gettext("Something went wrong on our side"),
    }


def render_error(status: int, message: str | None = None) -> tuple[Response | str, int]:
    title = _titles().get(status, gettext("Something went wrong"))
    if _wants_json():
        return jsonify({"error": title, "message": message or title, "status": status}), status
    return render_template("error.html", status=status, title=title, message=message), status


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> tuple[Response | str, int]:
        return render_error(exc.status_code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response | str, int] | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc
        description = None
        if (
            exc.code in (400, 409)
            and exc.description
            and not exc.description.startswith(("The browser", "The server"))
        ):
            description = exc.description
        return render_error(exc.code, description)

    @app.errorhandler(InternalServerError)
    def _server_error(exc: InternalServerError) -> tuple[Response | str, int]:
        log.error("unhandled error", exc_info=exc.original_exception or exc)
        return render_error(500)
