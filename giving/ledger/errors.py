"""Ledger errors: each is a DomainError, so the web layer answers 4xx and the CLI exits 2."""

from __future__ import annotations

from giving.errors import Conflict, DomainError, ValidationError


class InvalidEntry(ValidationError):
    """The entry breaks a bookkeeping rule (amounts, accounts, balance, kind, reversal...)."""


class UnknownCampaign(InvalidEntry):
    """The entry names a campaign public id that does not exist."""


class RefConflict(Conflict):
    """The external reference is already recorded for a different entry."""


class ProofOutOfRange(ValidationError):
    """A tree head or proof was requested for an index or size outside the tree."""


class SigningKeyUnavailable(DomainError):
    """The checkpoint signing key is missing or unreadable (a server-side problem)."""

    status_code = 503
