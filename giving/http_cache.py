"""HTTP caching: fingerprinted static assets and validators plus a Cache-Control policy for pages.

A campaign that goes viral is read by thousands of anonymous visitors who all see the same
bytes, so a CDN or reverse proxy in front of the app should answer most of them. The hard part
is never sharing what belongs to one visitor. The rule here is deliberately conservative:

* A response may be cached publicly only if it answers a GET or HEAD with 200, the request
  carried no cookie other than the language choice, the response sets no cookie, the session
  was not written, and nobody is logged in. An empty session that stays empty cannot have put
  anything visitor-specific into the page; a page that renders a CSRF token writes the token
  into the session, so such pages (the campaign page's give form, for instance) are
  automatically kept private instead of leaking one visitor's token to the next. That costs
  hit rate on those pages but can never be wrong.
* Public pages get ``public, max-age=<short>, stale-while-revalidate=<longer>`` (settings
  ``GIVING_PAGE_MAX_AGE`` and ``GIVING_PAGE_STALE_WHILE_REVALIDATE``) and ``Vary: Cookie,
  Accept-Language``, since the language comes from a cookie or the browser.
* Logged-in visitors get ``private, no-store``: their pages may show personal data.
  Other visitors whose page is tied to their session get ``private, no-cache``.
* A view that sets its own Cache-Control (covers, QR codes, feeds, receipts, children's
  records) keeps it; this module only adds an ETag and answers conditional requests.
* Every 200 body gets an ETag (a hash of the rendered body), so ``If-None-Match`` yields 304.
* Static files are linked as ``/static/<file>?v=<content hash>``; a request with the current
  hash is immutable for a year, anything else (no or stale hash) lives only briefly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request, session
from flask_login import current_user

from giving.i18n import LANGUAGE_COOKIE

ONE_YEAR = 365 * 24 * 3600
UNFINGERPRINTED_STATIC_MAX_AGE = 300
FINGERPRINT_ARG = "v"
_CACHE_KEY = "giving.static_fingerprints"


def install_http_cache(app: Flask, *, page_max_age: int, stale_while_revalidate: int) -> None:
    """Fingerprint static URLs and apply the caching policy to every response."""
    app.extensions[_CACHE_KEY] = {}

    @app.url_defaults
    def _fingerprint_static(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and FINGERPRINT_ARG not in values:
            fingerprint = static_fingerprint(app, str(values["filename"]))
            if fingerprint is not None:
                values[FINGERPRINT_ARG] = fingerprint

    @app.after_request
    def _apply_policy(response: Response) -> Response:
        if request.endpoint == "static":
            return _static_policy(response)
        return _page_policy(response, page_max_age, stale_while_revalidate)


def static_fingerprint(app: Flask, filename: str) -> str | None:
    """A short hash of a static file's bytes, computed once per process (None if missing)."""
    cache: dict[str, str | None] = app.extensions[_CACHE_KEY]
    if filename not in cache:
        folder = Path(app.static_folder or "")
        path = (folder / filename).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            cache[filename] = None
        else:
            cache[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return cache[filename]


def _static_policy(response: Response) -> Response:
    filename = (request.view_args or {}).get("filename", "")
    wanted = request.args.get(FINGERPRINT_ARG)
    response.cache_control.public = True
    # Only a file that was served is hashed: a refused or missing name (a NUL in it, or any
    # of the endless names a stranger can ask for) never reaches the filesystem or the cache.
    if (
        wanted is not None
        and response.status_code in (200, 304)
        and wanted == static_fingerprint(current_app, str(filename))
    ):
        response.cache_control.max_age = ONE_YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.max_age = UNFINGERPRINTED_STATIC_MAX_AGE
    return response


def _page_policy(response: Response, max_age: int, swr: int) -> Response:
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    explicit = "Cache-Control" in response.headers
    if request.method not in ("GET", "HEAD"):
        if not explicit:
            response.headers["Cache-Control"] = "no-store"
        return response
    if response.status_code == 200 and not response.direct_passthrough and not response.is_streamed:
        # Computed after rendering: the body is the only validator every page has.
        response.add_etag()
        response.make_conditional(request)
    if explicit:
        return response
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-store"
    elif response.status_code in (200, 304) and _shareable(response):
        response.headers["Cache-Control"] = (
            f"public, max-age={max_age}, stale-while-revalidate={swr}"
        )
    else:
        response.headers["Cache-Control"] = "private, no-cache"
    return response


def _shareable(response: Response) -> bool:
    """Whether nothing in this exchange ties the response to one visitor."""
    other_cookies = set(request.cookies) - {LANGUAGE_COOKIE}
    return not (other_cookies or "Set-Cookie" in response.headers or session.modified)
