"""Language choice and locale-aware formatting of money and dates.

The visitor's explicit choice (a cookie set by the language switch) wins; otherwise the
browser's Accept-Language decides; otherwise English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from babel.numbers import format_currency
from flask import has_app_context, has_request_context, request
from flask_babel import force_locale, format_date, get_locale

from giving.money import CURRENCY_EXPONENTS

LANGUAGES: dict[str, str] = {"en": "English", "zh_Hans_CN": "简体中文"}
LANGUAGE_COOKIE = "giving_lang"


def select_locale() -> str:
    if not has_request_context():
        # CLI commands and jobs have no visitor; their messages go to logs and terminals.
        return "en"
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(
        ["en", "zh-Hans-CN", "zh-CN", "zh-Hans", "zh-SG", "zh"], default="en"
    )
    return "en" if best == "en" else "zh_Hans_CN"


def current_language() -> str:
    """The short code for HTML's lang attribute: ``en`` or ``zh-Hans``."""
    locale = get_locale()
    return "zh-Hans" if locale is not None and locale.language == "zh" else "en"


def current_locale() -> str:
    """The visitor's locale name for Babel (``en`` or ``zh_Hans_CN``); ``en`` outside requests."""
    locale = get_locale() if has_request_context() else None
    return str(locale) if locale is not None else "en"


def in_every_language(render: Callable[[], str]) -> set[str]:
    """What ``render`` (which reads translated labels) gives in each of Giving's languages.

    Inside an app context each language's catalogue is used; outside one, only the source
    (English) text is known.
    """
    if not has_app_context():
        return {render()}
    results = set()
    for language in LANGUAGES:
        with force_locale(language):
            results.add(render())
    return results


def is_chinese() -> bool:
    return current_language() == "zh-Hans"


def format_money(amount_minor: int, currency: str) -> str:
    """Format minor units in the visitor's locale, e.g. ¥1,250.00 or US$12.50 in Chinese."""
    major = Decimal(amount_minor).scaleb(-CURRENCY_EXPONENTS[currency])
    locale = get_locale()
    return format_currency(major, currency, locale=str(locale) if locale else "en")


def format_day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return str(format_date(value, format="medium"))
