"""The one way to follow a ``next`` parameter: only to a path on this site.

A browser reads a ``Location`` more loosely than ``urlsplit`` does: it drops tabs and line
breaks anywhere (so ``/\t/evil.example`` becomes ``//evil.example``), trims leading spaces
and control characters, and treats a backslash as a slash. None of these ever appears in a
``next`` this site writes, so rather than guess how each browser normalises them, a target
with a control character or a backslash is refused outright, like one that names a scheme or
a host (``//``). What is followed is ASCII-only (non-ASCII text percent-encoded), so the
header can never carry a line break or fail to encode.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request
from werkzeug.urls import iri_to_uri


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site however a browser reads it, else ``default``."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
    ):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return iri_to_uri(target)


def next_target(default: str) -> str:
    """Where the request's ``next`` parameter asks to go, or ``default``."""
    return safe_next(request.args.get("next"), default)
