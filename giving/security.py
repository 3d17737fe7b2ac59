"""Security headers, including a Content-Security-Policy the pages actually satisfy.

Pages use no inline scripts or styles, so the policy can forbid them outright.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError

from giving.config import current_settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def _add_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(self)"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def require_same_origin() -> None:
    """Refuse a form POST that a browser did not send from one of Giving's own pages.

    The anonymous giving form carries no CSRF token, so the campaign page stays the same for
    every visitor and can be cached (giving/page_cache.py). Browsers name the page that sent a
    POST in ``Origin`` (or, failing that, ``Referer``), and another site cannot forge either,
    so checking it protects that form as a token would (OWASP's "verifying origin with
    standard headers"). Skipped, like CSRF tokens, when WTF_CSRF_ENABLED is off (tests).
    """
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    sent_from = request.headers.get("Origin") or request.headers.get("Referer") or ""
    ours = {request.host_url.rstrip("/")}
    public_url = current_settings().public_base_url
    ours.add(public_url.rstrip("/"))
    if sent_from == "null" or _origin_of(sent_from) not in ours:
        raise CSRFError(
            gettext("This form can only be sent from Giving's own page. Reload it and try again.")
        )


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
