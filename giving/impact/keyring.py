"""The running app's field cipher, built once at start-up from ``GIVING_DATA_KEY``."""

from __future__ import annotations

from flask import Flask, current_app

from giving.config import DATA_KEY_VAR, settings_of
from giving.impact.crypto import FieldCipher, cipher_from_environment

_CIPHER = "giving.impact.cipher"


def install_cipher(app: Flask) -> FieldCipher:
    """Build the cipher from GIVING_DATA_KEY: Flask config (tests), else the settings.

    Production without the variable raises ConfigError here, at start-up, before anything is
    served; locally a key is generated into the instance folder.
    """
    giving_settings = settings_of(app)
    configured = app.config.get("GIVING_DATA_KEY") or giving_settings.data_key
    cipher = cipher_from_environment(
        {DATA_KEY_VAR: configured} if configured else {},
        instance_path=giving_settings.instance_path,
        is_production=giving_settings.is_production,
    )
    app.extensions[_CIPHER] = cipher
    return cipher


def field_cipher() -> FieldCipher:
    """The current app's cipher (inside an app or request context)."""
    cipher: FieldCipher = current_app.extensions[_CIPHER]
    return cipher
