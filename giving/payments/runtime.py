"""The app's payment wiring: configuration, provider and job runner for the current request."""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy.orm import Session

from giving.payments.config import PaymentsConfig, payments_config
from giving.payments.gateway import PaymentGateway
from giving.payments.jobs import InlineRunner, RQRunner, make_gateway, make_runner

EXTENSION_KEY = "giving.payments"


def init_app(app: Flask) -> None:
    """Resolve payment settings once, from the environment and the app's config overrides."""
    app.extensions[EXTENSION_KEY] = payments_config(app.extensions["giving.settings"], app.config)


def config() -> PaymentsConfig:
    cfg = current_app.extensions.get(EXTENSION_KEY)
    if cfg is None:
        init_app(current_app)
        cfg = current_app.extensions[EXTENSION_KEY]
    assert isinstance(cfg, PaymentsConfig)
    return cfg


def gateway(session: Session) -> PaymentGateway:
    return make_gateway(config(), session)


def runner() -> InlineRunner | RQRunner:
    return make_runner(config())
