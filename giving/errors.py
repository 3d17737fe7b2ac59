"""The errors every layer shares: the domain's hierarchy (the web layer maps each kind to an
HTTP status) and ConfigError, raised at start-up, before any request, by settings and keys."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the request; the message is safe to show the user."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """The input is malformed or out of range."""


class PermissionDenied(DomainError):
    """The actor may not do this."""

    status_code = 403


class NotFound(DomainError):
    """The thing does not exist, or the actor may not know that it does."""

    status_code = 404


class Conflict(DomainError):
    """The request clashes with the current state (e.g. a campaign that is not in review)."""

    status_code = 409


class ConfigError(RuntimeError):
    """The environment does not describe a safe configuration."""
