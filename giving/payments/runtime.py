"""The app's payment wiring: configuration, provider and job runner for the current request."""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from giving.config import settings_of
from giving.payments.config import PaymentsConfig, payments_config
from giving.payments.gateway import PaymentGateway
from giving.payments.jobs import InlineRunner, RQRunner, make_gateway, make_runner
from giving.payments.sequencer import PaymentSequencer

EXTENSION_KEY = "giving.payments"
SEQUENCER_KEY = "giving.payments.sequencer"


def init_app(app: Flask) -> None:
    """Resolve payment settings once, from the environment and the app's config overrides."""
    app.extensions[EXTENSION_KEY] = payments_config(settings_of(app), app.config)


def config() -> PaymentsConfig:
    cfg = current_app.extensions.get(EXTENSION_KEY)
    if cfg is None:
        init_app(current_app)
        cfg = current_app.extensions[EXTENSION_KEY]
    assert isinstance(cfg, PaymentsConfig)
    return cfg


def gateway(session: Session) -> PaymentGateway:
    return make_gateway(config(), session)


def sequencer() -> PaymentSequencer | None:
    """This process's payment sequencer, made on first use; None without an Engine.

    Its leader applies other requests' events on its own request's session, which needs
    a connection of its own: tests that bind every session to one connection get None and
    apply each event in its request's session, through the same ``apply_events``.
    """
    if SEQUENCER_KEY not in current_app.extensions:
        factory: sessionmaker[Session] = current_app.extensions["giving.sessionmaker"]
        current_app.extensions[SEQUENCER_KEY] = (
            PaymentSequencer(factory, platform_fee_bps=config().platform_fee_bps)
            if isinstance(factory.kw.get("bind"), Engine)
            else None
        )
    found = current_app.extensions[SEQUENCER_KEY]
    assert found is None or isinstance(found, PaymentSequencer)
    return found


def runner() -> InlineRunner | RQRunner:
    return make_runner(config(), sequencer=sequencer())
