"""Form helpers: a service's DomainError on the field it concerns, and bounded numbers."""

from __future__ import annotations

from typing import Any

from wtforms import IntegerField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from giving.errors import Conflict, DomainError
from giving.inputs import INT64_MAX, INT64_MIN, MAX_DIGITS


def form_error_status(error: DomainError) -> int:
    """The status of a form shown again with a service's refusal beside its field: 409 when
    it clashed with the current state, else 400 (callers re-raise 403 and 404 first)."""
    return 409 if isinstance(error, Conflict) else 400


def attach_refusal(form: Any, error: DomainError) -> None:
    """Show a service's refusal on the form it answers; one that is not the form's to show
    (403, 404) is raised again, for the error pages."""
    if error.status_code in (403, 404):
        raise error
    attach_error(form, error)


def attach_error(form: Any, error: DomainError) -> None:
    """Put the message on the named field if the form has it, else on the whole form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors), error.message]
    else:
        form.form_errors.append(error.message)


class WholeNumberField(IntegerField):  # type: ignore[misc]
    """An ``IntegerField`` that refuses, as invalid, a number beyond 64 bits.

    WTForms' own field reads any length of digits and its ``NumberRange`` then converts the
    number to a float, which raises OverflowError (a 500) for a few hundred digits; and no
    column can store a number beyond 64 bits anyway. Give it a ``NumberRange`` as usual.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and isinstance(valuelist[0], str):
            text = valuelist[0].strip()
            if len(text) > MAX_DIGITS or (
                text.lstrip("+-").isdigit() and not INT64_MIN <= int(text) <= INT64_MAX
            ):
                self.data = None
                raise ValueError(
                    self.invalid_value_message or self.gettext("Not a valid integer value.")
                )
        super().process_formdata(valuelist)


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    """A list of checkboxes (easier on a phone than a multi-select box)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
