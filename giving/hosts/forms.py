"""Host organisation forms: shape only; the rules live in giving/hosts/services.py."""

from __future__ import annotations

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from giving.hosts.models import HostRole
from giving.hosts.services import country_codes


def country_choices() -> list[SelectChoice]:
    """Countries by name in the visitor's language, China first (most hosts are there)."""
    locale = get_locale() or Locale("en")
    names = Locale.parse(str(locale)).territories
    choices = sorted(
        ((code, names.get(code, code)) for code in country_codes()), key=lambda c: c[1]
    )
    china = [c for c in choices if c[0] == "CN"]
    ordered = china + [c for c in choices if c[0] != "CN"]
    return [SelectChoice(code, name) for code, name in ordered]


class HostForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Organisation name"), validators=[DataRequired(), Length(max=200)])
    registration_number = StringField(
        _l("Registration number"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("E.g. the unified social credit code of a Chinese charity."),
    )
    country = SelectField(_l("Country of registration"))
    contact_email = EmailField(
        _l("Organisation's contact email"), validators=[DataRequired(), Length(max=254)]
    )
    contact_phone = StringField(
        _l("Organisation's contact phone"), validators=[DataRequired(), Length(max=40)]
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()


class MemberForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        _l("Email of the person's Giving account"), validators=[DataRequired(), Length(max=254)]
    )
    role = SelectField(
        _l("Role"),
        description=_l("Finance members approve the hosted campaigns' disbursements."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Built per request: role names are translated, and a list made at import time
        # would keep the English of whoever imported the module first.
        self.role.choices = [SelectChoice(role.value, role.label) for role in HostRole]


class ChooseHostForm(FlaskForm):  # type: ignore[misc]
    host = SelectField(_l("Host organisation"), coerce=int)
