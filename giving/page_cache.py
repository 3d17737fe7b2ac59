"""A few seconds of memory for shareable pages, inside each worker (a micro-cache).

When one post sends thousands of visitors to a campaign at once, they all ask for the same
page within seconds. http_cache.py already marks the responses that are the same for every
anonymous visitor as ``public``, so a CDN or reverse proxy may serve them; many small
organisations run without either. This module lets the app itself be that cache: a
response the app marked shareable is kept in the worker's memory for ``seconds`` (setting
``GIVING_PAGE_CACHE_SECONDS``, 0 turns it off) and handed to the next cookie-less visitor
asking for the same URL in the same language, conditional requests included. A burst then
costs one render per page per worker every few seconds, however large the campaign.

It never decides on its own what may be shared; it only follows the app's own verdict:

* Only GET and HEAD requests that carry no cookie but the language choice are answered from
  memory, and only their responses are stored: a logged-in visitor, or one with a session,
  always reaches the app.
* A response is stored only if it is a 200 without ``Set-Cookie``, and either its
  Cache-Control says ``public`` (without ``no-store``/``private``) or the view marked it with
  ``X-Giving-Page-Cache: url`` (see ``reusable_by_url``): a page that depends on nothing but
  its URL but must not reach shared caches, such as a donor's receipt behind its bearer link.
  The marker never leaves the app.
* A stored page lives for the shorter of ``seconds`` and its own ``max-age``; the key is the
  scheme, host, path, query, language cookie and Accept-Language.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from flask import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MARKER = "X-Giving-Page-Cache"
MAX_ENTRIES = 512
MAX_BODY_BYTES = 1 << 20

Key = tuple[str, str, str, str, str, str]


@dataclass(frozen=True)
class Stored:
    expires: float
    stored_at: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str | None


def reusable_by_url(response: Response) -> Response:
    """Let the app reuse this response for the same URL for a few seconds (never a CDN).

    For views whose page depends only on the URL (and language) yet must stay out of shared
    caches. A response that sets a cookie is still never reused.
    """
    response.headers[MARKER] = "url"
    return response


class PageCache:
    """The stored pages of one worker, least recently used evicted first."""

    def __init__(self, seconds: int, *, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, Stored] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key, now: float) -> Stored | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found.expires <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found

    def put(self, key: Key, stored: Stored) -> None:
        with self._lock:
            self._entries[key] = stored
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class PageCacheMiddleware:
    """WSGI middleware that answers from, and fills, a PageCache (see the module docstring)."""

    def __init__(
        self,
        app: WSGIApplication,
        cache: PageCache,
        *,
        language_cookie: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.cache = cache
        self.language_cookie = language_cookie
        self.clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        key = self._key(environ)
        if key is None:
            return self._without_marker(environ, start_response)
        now = self.clock()
        stored = self.cache.get(key, now)
        if stored is not None:
            return self._answer(stored, environ, start_response, now)
        return self._fill(key, environ, start_response, now)

    def _key(self, environ: WSGIEnvironment) -> Key | None:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return None
        language = ""
        raw_cookies = environ.get("HTTP_COOKIE", "")
        if raw_cookies:
            try:
                cookies = SimpleCookie(raw_cookies)
            except CookieError:
                return None
            if set(cookies) - {self.language_cookie}:
                return None
            if self.language_cookie in cookies:
                language = cookies[self.language_cookie].value
        return (
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            language,
            environ.get("HTTP_ACCEPT_LANGUAGE", ""),
        )

    def _answer(
        self, stored: Stored, environ: WSGIEnvironment, start_response: StartResponse, now: float
    ) -> Iterable[bytes]:
        headers = [*stored.headers, ("Age", str(int(now - stored.stored_at)))]
        wanted = environ.get("HTTP_IF_NONE_MATCH", "")
        if stored.etag is not None and wanted and _matches(wanted, stored.etag):
            kept = {"cache-control", "etag", "vary", "expires", "date", "last-modified"}
            start_response("304 NOT MODIFIED", [h for h in headers if h[0].lower() in kept])
            return []
        start_response(stored.status, headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [stored.body]

    def _fill(
        self, key: Key, environ: WSGIEnvironment, start_response: StartResponse, now: float
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            outgoing = [(name, value) for name, value in headers if name != MARKER]
            return start_response(status, outgoing, exc_info)

        body_iter = self.app(environ, capture)
        lifetime = self._lifetime(seen.get("status", ""), seen.get("headers", []))
        if lifetime <= 0 or environ.get("REQUEST_METHOD") != "GET":
            return body_iter
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        if len(body) <= MAX_BODY_BYTES:
            headers = [(n, v) for n, v in seen["headers"] if n != MARKER]
            etag = next((v for n, v in headers if n.lower() == "etag"), None)
            self.cache.put(key, Stored(now + lifetime, now, seen["status"], headers, body, etag))
        return [body]

    def _lifetime(self, status: str, headers: list[tuple[str, str]]) -> float:
        """Seconds this response may be reused, or 0 if it must not be stored."""
        if not status.startswith("200"):
            return 0
        names = {name.lower(): value for name, value in headers}
        if "set-cookie" in names:
            return 0
        if names.get(MARKER.lower()) == "url":
            return self.cache.seconds
        directives = [d.strip().lower() for d in names.get("cache-control", "").split(",")]
        if "public" not in directives or {"private", "no-store", "no-cache"} & set(directives):
            return 0
        for directive in directives:
            if directive.startswith("max-age="):
                try:
                    return min(self.cache.seconds, int(directive[8:]))
                except ValueError:
                    return 0
        return self.cache.seconds

    def _without_marker(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        def strip(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [h for h in headers if h[0] != MARKER], exc_info)

        return self.app(environ, strip)


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag.removeprefix("W/") in wanted
