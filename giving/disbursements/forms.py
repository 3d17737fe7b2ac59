"""Disbursement forms: the shape of what people type and upload; rules live in services."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from giving.campaigns.models import CampaignCategory
from giving.disbursements.evidence import MAX_FILES_PER_REQUEST
from giving.errors import ValidationError
from giving.forms_util import WholeNumberField
from giving.i18n import current_locale
from giving.money import (
    SUPPORTED_CURRENCIES,
    AmountError,
    AmountProblem,
    Money,
    parse_major_amount,
)


def category_choices() -> list[SelectChoice]:
    return [SelectChoice(category.value, category.label) for category in CampaignCategory]


def amount_error(error: AmountError) -> str:
    """This form's wording for why ``parse_major_amount`` refused an amount."""
    if error.problem is AmountProblem.TOO_MANY_DECIMALS:
        if error.digits == 2:
            return str(_l("Use at most two decimal places, such as 120.50."))
        return error.message  # names the currency and how many decimals it has
    if error.problem is AmountProblem.NOT_POSITIVE:
        return str(_l("The amount must be more than zero."))
    if error.problem is AmountProblem.TOO_LARGE:
        return str(_l("That amount is larger than Giving accepts."))
    return str(_l("Enter the amount as a number, such as 120 or 120.50."))


def parse_amount(text: str, currency: str) -> Money:
    try:
        return parse_major_amount(text or "", currency, locale=current_locale())
    except AmountError as exc:
        raise FieldError(amount_error(exc)) from None


_EVIDENCE_HELP = _l(
    "Receipts or invoices: PDF, JPEG, PNG or WebP, up to 10 MB each and 12 MB together "
    "(add more files afterwards), at most 5 files. They stay private; you may publish a "
    "redacted copy later."
)
SHOWS_NO_CHILD = "no"
SHOWS_CHILDREN = "yes"


class EvidenceSlotForm(Form):  # type: ignore[misc]
    """One file and what it shows; a subform, so it has no CSRF token of its own."""

    file = FileField(_l("File"))
    shows_children = RadioField(
        _l("Does this file show a child?"),
        choices=[
            SelectChoice(SHOWS_NO_CHILD, _l("No, it shows no child (e.g. a receipt or goods)")),
            SelectChoice(SHOWS_CHILDREN, _l("Yes, it shows children")),
        ],
        validate_choice=False,
    )
    # Choices are the campaign's children, rendered by the page; the service checks them.
    children = SelectMultipleField(
        _l("Children it shows"),
        choices=[],
        validate_choice=False,
        description=_l(
            "Only for a file that shows children: choose every child in it (hold Ctrl or ⌘ "
            "to choose several). Each needs the guardian's recorded consent; such a file is "
            "never published."
        ),
    )

    def validate_shows_children(self, field: Any) -> None:
        if field.data not in (None, "", SHOWS_NO_CHILD, SHOWS_CHILDREN):
            raise FieldError(_l("Choose yes or no."))
        if self.has_file() and field.data not in (SHOWS_NO_CHILD, SHOWS_CHILDREN):
            raise FieldError(_l("Say whether this file shows a child."))

    def has_file(self) -> bool:
        return bool(getattr(self.file.data, "filename", ""))


def _evidence_slots(label: Any) -> Any:
    return FieldList(
        FormField(EvidenceSlotForm),
        label=label,
        description=_EVIDENCE_HELP,
        min_entries=MAX_FILES_PER_REQUEST,
        max_entries=MAX_FILES_PER_REQUEST,
    )


class DisbursementForm(FlaskForm):  # type: ignore[misc]
    payee = StringField(
        _l("Paid to"),
        validators=[DataRequired(), Length(max=200)],
        description=_l(
            "The shop, school or supplier paid. Only organisers, the host and auditors see it."
        ),
    )
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=32)])
    currency = SelectField(
        _l("Currency"), choices=[SelectChoice(c, c) for c in SUPPORTED_CURRENCIES]
    )
    category = SelectField(_l("Category"))
    spent_on = DateField(_l("Date of the purchase or payment"), validators=[DataRequired()])
    description = TextAreaField(
        _l("What the money is for"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l(
            "Shown to the public once approved. Never name a child, their school or village, "
            "and never include identity-card or phone numbers."
        ),
    )
    groups_reached = StringField(
        _l("Groups reached"),
        validators=[Optional(), Length(max=300)],
        description=_l("E.g. “Grade 3 class”. Public once approved."),
    )
    people_reached = WholeNumberField(
        _l("Number of people reached"),
        validators=[Optional(), NumberRange(min=0, max=1_000_000)],
    )
    evidence = _evidence_slots(_l("Evidence files"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = category_choices()

    def validate_amount(self, field: Any) -> None:
        parse_amount(field.data, self.currency.data or "CNY")

    def money(self) -> Money:
        return parse_amount(self.amount.data, self.currency.data)


class EvidenceForm(FlaskForm):  # type: ignore[misc]
    evidence = _evidence_slots(_l("More evidence files"))


class DecisionForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Required to reject or reverse; the organisers read it."),
    )


class RedactedCopyForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        _l("Redacted copy"),
        description=_l(
            "The same document with addresses, names and numbers blacked out. "
            "PDF, JPEG, PNG or WebP. Photos are published without their location data."
        ),
    )
    caption = StringField(
        _l("Caption"),
        validators=[Optional(), Length(max=300)],
        description=_l("Optional; public."),
    )


class WithdrawCopyForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        _l("Why take the public copy down?"),
        validators=[Optional(), Length(max=2000)],
        description=_l(
            "E.g. “an address is still readable”. Kept in the books' activity log, not public."
        ),
    )


class ShowsChildrenForm(FlaskForm):  # type: ignore[misc]
    # Choices are the campaign's children, rendered by the page; the service checks them.
    children = SelectMultipleField(
        _l("Children it shows"),
        choices=[],
        validate_choice=False,
        description=_l(
            "Choose every registered child in it (hold Ctrl or ⌘ to choose several); choose "
            "none if the child is not registered. Any public copy is taken down and the file "
            "is never published. If a child has no recorded guardian consent, or is not "
            "registered, the file is withheld: deleted, keeping only its fingerprint."
        ),
    )


class BudgetForm(FlaskForm):  # type: ignore[misc]
    """One amount per category; built with the campaign's categories at runtime."""

    food = StringField(_l("Food"), validators=[Optional(), Length(max=32)])
    education = StringField(_l("Education"), validators=[Optional(), Length(max=32)])
    health = StringField(_l("Health"), validators=[Optional(), Length(max=32)])
    shelter = StringField(_l("Shelter"), validators=[Optional(), Length(max=32)])
    transport = StringField(_l("Transport"), validators=[Optional(), Length(max=32)])
    other = StringField(_l("Other"), validators=[Optional(), Length(max=32)])

    CATEGORY_FIELDS = ("food", "education", "health", "shelter", "transport", "other")

    def amounts(self, currency: str) -> dict[str, int]:
        """Minor units per category; an empty field or 0 means nothing planned."""
        result: dict[str, int] = {}
        for name in self.CATEGORY_FIELDS:
            text = (getattr(self, name).data or "").strip()
            if text in ("", "0"):
                result[name] = 0
                continue
            try:
                result[name] = parse_major_amount(
                    text, currency, locale=current_locale()
                ).amount_minor
            except AmountError as exc:
                raise ValidationError(amount_error(exc), field=name) from None
        return result
