"""Filters and globals that templates use; formatting only, never business rules."""

from __future__ import annotations

from typing import Any

from flask import Flask, request, url_for

from giving.i18n import LANGUAGES, current_language, format_day, format_money
from giving.text import render_markdown


def install_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "html_lang": current_language(),
            "languages": LANGUAGES,
            "language_switch_url": _language_switch_url,
        }


def _language_switch_url(code: str) -> str:
    return url_for("pages.set_language", lang=code, next=request.full_path.rstrip("?"))
