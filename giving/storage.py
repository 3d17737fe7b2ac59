"""File storage adapter: uploaded files by opaque key, in a local directory for now.

Callers only ever see keys (random names chosen here), never paths they supply, so an upload
cannot pick where it lands or overwrite another file. ``GIVING_STORAGE`` names the directory;
an S3-compatible bucket (DESIGN §8) will be a second class with the same four methods.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

from giving.config import ConfigError, Settings

if TYPE_CHECKING:
    from flask import Flask

# A key is 32 hex characters and an optional short extension; anything else is not ours.
_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}(\.[a-z0-9]{1,8})?$")
_SUFFIX_PATTERN = re.compile(r"^\.[a-z0-9]{1,8}$")


class LocalStorage:
    """Files in one directory, named by random keys; written once, never overwritten."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, *, suffix: str = "") -> str:
        """Store ``data`` under a new random key ending in ``suffix`` (e.g. ".jpg")."""
        if suffix and not _SUFFIX_PATTERN.match(suffix):
            raise ValueError(f"unsafe file suffix {suffix!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(16) + suffix
        # "xb" refuses to replace an existing file, so a key is never reused silently.
        with open(self.root / key, "xb") as handle:
            handle.write(data)
        return key

    def path_for(self, key: str) -> Path:
        """The file's path; raises FileNotFoundError for keys that are malformed or unknown."""
        if not _KEY_PATTERN.match(key):
            raise FileNotFoundError(key)
        path = self.root / key
        if not path.is_file():
            raise FileNotFoundError(key)
        return path

    def exists(self, key: str) -> bool:
        try:
            self.path_for(key)
        except FileNotFoundError:
            return False
        return True

    def open(self, key: str) -> BinaryIO:
        return self.path_for(key).open("rb")

    def read(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()


def storage_from_settings(settings: Settings) -> LocalStorage:
    """Build the storage ``GIVING_STORAGE`` describes: a directory path (or file:// URL)."""
    value = settings.storage.strip()
    if not value:
        return LocalStorage(settings.instance_path / "files")
    parts = urlsplit(value)
    # A one-letter "scheme" is a Windows drive letter, i.e. still a path.
    if parts.scheme and len(parts.scheme) > 1:
        if parts.scheme != "file":
            raise ConfigError(
                f"GIVING_STORAGE={value!r}: only a local directory is supported so far; "
                f"{parts.scheme}:// storage (e.g. S3-compatible buckets) is not implemented"
            )
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"GIVING_STORAGE={value!r}: file:// URLs must be local")
        return LocalStorage(Path(parts.path).resolve())
    return LocalStorage(Path(value).resolve())


def app_storage(app: Flask) -> LocalStorage:
    """The app's storage, built from its settings on first use and then reused."""
    storage = app.extensions.get("giving.storage")
    if storage is None:
        storage = storage_from_settings(app.extensions["giving.settings"])
        app.extensions["giving.storage"] = storage
    assert isinstance(storage, LocalStorage)
    return storage
