"""Report forms: publishing, verification, sign-offs and auditor grants (shape only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    EmailField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from giving.forms_util import MultiCheckboxField


class PublishForm(FlaskForm):  # type: ignore[misc]
    languages = MultiCheckboxField(
        _l("Languages"),
        choices=[SelectChoice("en", _l("English")), SelectChoice("zh", _l("Simplified Chinese"))],
        default=["en", "zh"],
        description=_l("One PDF per language; both share the version number and checkpoint."),
    )


class VerifyForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        _l("Report file (PDF)"),
        description=_l("The file is hashed to find it; it is not kept."),
    )
    sha256 = StringField(
        _l("…or its SHA-256"),
        validators=[Optional(), Length(max=80)],
        description=_l("64 hexadecimal characters, e.g. from sha256sum report.pdf."),
    )


class SignOffForm(FlaskForm):  # type: ignore[misc]
    statement = TextAreaField(
        _l("Your statement"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l(
            "What you checked and what you found. It is published with your name and cannot "
            "be changed afterwards."
        ),
    )


class GrantForm(FlaskForm):  # type: ignore[misc]
    auditor_email = EmailField(_l("Auditor's email"), validators=[DataRequired(), Length(max=254)])
    campaign = StringField(
        _l("Campaign"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("The campaign's public id or its address name (slug)."),
    )
    expires_on = DateField(
        _l("Access ends on"),
        validators=[DataRequired()],
        description=_l("Access ends at the start of this day (UTC); at most a year ahead."),
    )
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=300)])


class RevokeForm(FlaskForm):  # type: ignore[misc]
    """A button; the form exists for its CSRF token."""
