"""Giving: transparent grassroots micro-philanthropy. ``create_app`` builds the Flask app."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from giving.config import PROJECT_ROOT, SETTINGS_KEY, Settings, load_settings


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build an app; ``config`` overrides Flask config keys (tests), ``settings`` the env."""
    # Imported here so that importing the package stays cheap and free of side effects.
    from giving import extensions as ext
    from giving.db import make_engine, make_session_factory
    from giving.errorpages import install_error_handlers
    from giving.http_cache import install_http_cache
    from giving.i18n import select_locale
    from giving.inputs import install_input_checks
    from giving.security import install_security_headers
    from giving.templating import install_template_helpers
    from giving.web import close_db_session

    settings = settings or load_settings()
    app = Flask(
        "giving",
        instance_path=str(settings.instance_path),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.is_production,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        RATELIMIT_STORAGE_URI=settings.rate_limit_storage,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        DATABASE_URL=settings.database_url,
        UPLOAD_MAX_BYTES=5 * 1024 * 1024,
        CAMPAIGNS_PER_PAGE=12,
    )
    if config:
        app.config.update(config)
    settings_obj = settings
    if app.config["DATABASE_URL"] != settings.database_url:
        from dataclasses import replace

        settings_obj = replace(settings, database_url=app.config["DATABASE_URL"])
    app.extensions[SETTINGS_KEY] = settings_obj

    engine = app.config.get("ENGINE") or make_engine(app.config["DATABASE_URL"])
    app.extensions["giving.engine"] = engine
    app.extensions["giving.sessionmaker"] = app.config.get(
        "SESSION_FACTORY"
    ) or make_session_factory(engine)
    app.teardown_appcontext(close_db_session)

    ext.babel.init_app(app, locale_selector=select_locale)
    ext.csrf.init_app(app)
    ext.limiter.init_app(app)
    _say_if_rate_limits_are_per_process(app)
    _init_login(app)

    install_input_checks(app)  # before the blueprints: their int rules use its converter
    install_security_headers(app)
    install_http_cache(
        app,
        page_max_age=settings_obj.page_max_age,
        stale_while_revalidate=settings_obj.page_stale_while_revalidate,
    )
    install_error_handlers(app)
    install_template_helpers(app)
    _register_blueprints(app)

    from giving.cli import register_commands

    register_commands(app)
    if settings_obj.page_cache_seconds > 0:
        _install_page_cache(app, settings_obj.page_cache_seconds)
    return app


def _install_page_cache(app: Flask, seconds: int) -> None:
    from giving.i18n import LANGUAGE_COOKIE
    from giving.page_cache import PageCache, PageCacheMiddleware

    cache = PageCache(seconds)
    app.extensions["giving.page_cache"] = cache
    app.wsgi_app = PageCacheMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, cache, language_cookie=LANGUAGE_COOKIE
    )


def _say_if_rate_limits_are_per_process(app: Flask) -> None:
    """Development may count limits in memory, but must say so: each worker counts alone.

    (Production refuses a memory store in ``load_settings``.)
    """
    from giving.config import is_per_process_store

    if app.config.get("RATELIMIT_ENABLED", True) and is_per_process_store(
        str(app.config["RATELIMIT_STORAGE_URI"])
    ):
        logging.getLogger("giving").warning(
            "Rate limits are counted per process (%s): every worker or server process keeps "
            "its own counts, so with N processes each limit is N times higher. Set REDIS_URL "
            "(or RATELIMIT_STORAGE_URI) to share them; production refuses to start without.",
            app.config["RATELIMIT_STORAGE_URI"],
        )


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext

    from giving.accounts.services import load_user_for_session
    from giving.extensions import login_manager
    from giving.web import db_session

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = lazy_gettext("Please log in to continue.")
    login_manager.session_protection = "strong"

    def _load_user(session_id: str) -> Any:
        return load_user_for_session(db_session(), session_id)

    login_manager.user_loader(_load_user)


def _register_blueprints(app: Flask) -> None:
    from giving.accounts.views import bp as accounts_bp
    from giving.admin.views import bp as admin_bp
    from giving.campaigns.views import bp as campaigns_bp
    from giving.pages.views import bp as pages_bp

    for blueprint in (pages_bp, accounts_bp, campaigns_bp, admin_bp):
        app.register_blueprint(blueprint)
    from giving.api_docs import bp as api_docs_bp  # /api/v1/openapi.json
    from giving.ledger.api import bp as ledger_api_bp  # /api/v1/ledger/…

    app.register_blueprint(ledger_api_bp)
    app.register_blueprint(api_docs_bp)
    from giving.payments.views import bp as payments_bp  # giving form, receipts, webhooks

    app.register_blueprint(payments_bp)
    from giving.disbursements.views import bp as disbursements_bp  # /finance/…, /c/<slug>/spending
    from giving.hosts.views import bp as hosts_bp  # /admin/hosts, /my/campaigns/<id>/host

    app.register_blueprint(disbursements_bp)
    app.register_blueprint(hosts_bp)
    from giving.reports.views import bp as reports_bp  # transparency, verify, auditors

    app.register_blueprint(reports_bp)
    from giving.impact.views import bp as impact_bp  # /registry/<id>/…, /api/v1/…/impact

    app.register_blueprint(impact_bp)
