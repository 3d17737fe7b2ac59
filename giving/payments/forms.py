"""The giving form: shape only; amounts, names and messages are checked by services.py."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from giving.i18n import format_money
from giving.payments.models import Frequency
from giving.payments.services import MESSAGE_MAX, NAME_MAX, PRESETS


class DonateForm(FlaskForm):  # type: ignore[misc]
    preset = RadioField(_l("Amount"), choices=[], validate_choice=False, default="")
    custom_amount = StringField(
        _l("Or another amount"),
        validators=[Optional(), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    frequency = RadioField(
        _l("How often"),
        choices=[
            SelectChoice(Frequency.ONE_OFF.value, _l("Once")),
            SelectChoice(Frequency.MONTHLY.value, _l("Every month (card only)")),
        ],
        default=Frequency.ONE_OFF.value,
    )
    display_name = StringField(
        _l("Name shown with your gift"),
        validators=[Optional(), Length(max=NAME_MAX)],
        description=_l("Leave empty, or tick below, to give anonymously."),
        render_kw={"autocomplete": "nickname"},
    )
    anonymous = BooleanField(_l("Give anonymously"))
    message = TextAreaField(
        _l("A short public message (optional)"),
        validators=[Optional(), Length(max=MESSAGE_MAX)],
        description=_l("Up to %(max)s characters, shown on the campaign page.", max=MESSAGE_MAX),
        render_kw={"rows": 3, "maxlength": MESSAGE_MAX},
    )
    email = EmailField(
        _l("Email for your receipt (optional)"),
        validators=[Optional(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )

    def for_currency(self, currency: str) -> DonateForm:
        """Offer the preset amounts of the campaign's currency; the second is the default."""
        presets = PRESETS[currency]
        self.preset.choices = [
            SelectChoice(str(minor), format_money(minor, currency)) for minor in presets
        ]
        if not self.preset.data:
            self.preset.data = str(presets[1])
        self.custom_amount.label.text = _l("Or another amount (%(currency)s)", currency=currency)
        return self

    def amount_text(self, currency: str) -> str:
        """What the donor chose, as text for services.check_amount (custom wins over preset)."""
        custom = (self.custom_amount.data or "").strip()
        if custom:
            return custom
        preset = (self.preset.data or "").strip()
        if preset.isdigit() and int(preset) in PRESETS[currency]:
            from giving.money import Money

            return str(Money(int(preset), currency).major)
        return ""


class ResolveFlagForm(FlaskForm):  # type: ignore[misc]
    note = TextAreaField(
        _l("What was done"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 2}
    )
