"""Showing a service's DomainError on the form field it concerns."""

from __future__ import annotations

from typing import Any

from giving.errors import DomainError


def attach_error(form: Any, error: DomainError) -> None:
    """Put the message on the named field if the form has it, else on the whole form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors), error.message]
    else:
        form.form_errors.append(error.message)
