"""Campaign forms: the shape of what organisers and visitors type; rules live in services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.validators import ValidationError as FieldError

from giving.campaigns.models import LISTED_STATES, CampaignCategory, ContentLanguage
from giving.campaigns.regions import region_choices
from giving.i18n import current_language, current_locale
from giving.money import SUPPORTED_CURRENCIES, AmountError, AmountProblem, Money, parse_major_amount

CURRENCY_LABELS = {
    "CNY": _l("Chinese yuan (CNY, ¥)"),
    "USD": _l("US dollar (USD, $)"),
    "HKD": _l("Hong Kong dollar (HKD, HK$)"),
    "EUR": _l("Euro (EUR, €)"),
}
LANGUAGE_LABELS = {ContentLanguage.ENGLISH: "English", ContentLanguage.CHINESE: "中文"}


def _category_choices() -> list[SelectChoice]:
    return [SelectChoice(category.value, category.label) for category in CampaignCategory]


def _region_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name) for code, name in region_choices(current_language())]


def _goal_error(error: AmountError) -> str:
    """This form's wording for why ``parse_major_amount`` refused a goal."""
    if error.problem is AmountProblem.TOO_MANY_DECIMALS:
        if error.digits == 2:
            return str(_l("Use at most two decimal places, such as 5000.50."))
        return error.message  # names the currency and how many decimals it has
    if error.problem is AmountProblem.NOT_POSITIVE:
        return str(_l("The goal must be more than zero."))
    if error.problem is AmountProblem.TOO_LARGE:
        return str(_l("That goal is larger than Giving accepts."))
    return str(_l("Enter the goal as a number, such as 5000 or 5000.50."))


class CampaignForm(FlaskForm):  # type: ignore[misc]
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=3, max=120)])
    summary = TextAreaField(
        _l("Summary"),
        validators=[DataRequired(), Length(max=300)],
        description=_l("One or two sentences shown on campaign cards and when shared."),
    )
    story = TextAreaField(
        _l("Story"),
        validators=[DataRequired(), Length(max=20_000)],
        description=_l(
            "Who you help and how the money will be spent. You can use Markdown: **bold**, "
            "*italic*, lists and links. Never name a child or their school or village."
        ),
    )
    language = SelectField(
        _l("Language of the campaign text"),
        choices=[SelectChoice(lang.value, label) for lang, label in LANGUAGE_LABELS.items()],
    )
    goal = StringField(
        _l("Goal"),
        validators=[DataRequired(), Length(max=32)],
        description=_l("In whole units of the currency, such as 5000 or 5000.50."),
    )
    currency = SelectField(
        _l("Currency"),
        choices=[SelectChoice(code, CURRENCY_LABELS[code]) for code in SUPPORTED_CURRENCIES],
    )
    ends_on = DateField(
        _l("End date"),
        validators=[Optional()],
        description=_l("Optional. The last day donations are accepted."),
    )
    region = SelectField(_l("Region"))
    category = SelectField(_l("Category"))
    cover = FileField(
        _l("Cover image"),
        description=_l(
            "Optional. JPEG, PNG or WebP up to 5 MB. Location data is removed. After an "
            "error, choose the file again."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region.choices = _region_choices()
        self.category.choices = _category_choices()
        self.goal_money: Money | None = None

    def validate_goal(self, field: StringField) -> None:
        if self.currency.data not in SUPPORTED_CURRENCIES:
            return  # the currency field reports its own error
        try:
            self.goal_money = parse_major_amount(
                field.data or "", self.currency.data, locale=current_locale()
            )
        except AmountError as exc:
            raise FieldError(_goal_error(exc)) from None

    def campaign_values(self) -> dict[str, Any]:
        """The validated values, named as the services' keyword arguments."""
        assert self.goal_money is not None
        ends_on: dt.date | None = self.ends_on.data
        return {
            "title": self.title.data,
            "summary": self.summary.data,
            "story": self.story.data,
            "language": self.language.data,
            "goal": self.goal_money,
            "ends_on": ends_on,
            "region": self.region.data,
            "category": self.category.data,
        }


class UpdateForm(FlaskForm):  # type: ignore[misc]
    title = StringField(_l("Update title"), validators=[DataRequired(), Length(max=120)])
    body = TextAreaField(
        _l("What happened"),
        validators=[DataRequired(), Length(max=20_000)],
        description=_l("Markdown works here too. Never name a child or where they live."),
    )


class InviteForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        _l("Co-organiser's email"),
        validators=[DataRequired(), Length(max=254)],
        description=_l("They must log in with this address to accept."),
    )


class SearchForm(FlaskForm):  # type: ignore[misc]
    """The campaign list's filters; a GET form, so it needs no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    region = SelectField(_l("Region"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    state = SelectField(_l("Status"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region.choices = [SelectChoice("", _l("Any region")), *_region_choices()]
        self.category.choices = [SelectChoice("", _l("Any category")), *_category_choices()]
        self.state.choices = [
            SelectChoice("", _l("Live and closed")),
            *[SelectChoice(state.value, state.label) for state in LISTED_STATES],
        ]
