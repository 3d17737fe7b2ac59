"""Registry forms: the shape of what organisers type; the rules live in ``fields``/services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from giving.campaigns.regions import region_choices
from giving.forms_util import MultiCheckboxField
from giving.i18n import current_language
from giving.impact import fields
from giving.impact.fields import ChildValues
from giving.impact.models import AgeBand, Need, Sex


class ChildForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        _l("Code"),
        validators=[Optional(), Length(max=fields.CODE_MAX)],
        description=_l(
            "A pseudonym such as C-7KQ2, never a name. Leave it empty to have one made for you."
        ),
    )
    age_band = SelectField(_l("Age"), validators=[InputRequired()])
    sex = RadioField(_l("Sex"), default=Sex.UNSPECIFIED.value)
    province = SelectField(_l("Province"), validators=[InputRequired()])
    city = StringField(
        _l("City"),
        validators=[Optional(), Length(max=fields.CITY_MAX)],
        description=_l("Optional. The city only: never a village, township, school or street."),
    )
    needs = MultiCheckboxField(_l("Needs"))
    needs_detail = TextAreaField(
        _l("About the needs"),
        validators=[Optional(), Length(max=fields.NEEDS_DETAIL_MAX)],
        description=_l("Optional and private (stored encrypted)."),
    )
    consent = BooleanField(_l("The guardian has consented to this record"))
    consent_date = DateField(_l("Date of consent"), validators=[Optional()])
    notes = TextAreaField(
        _l("Notes"),
        validators=[Optional(), Length(max=fields.NOTES_MAX)],
        description=_l("Private (stored encrypted). Avoid names, addresses and ID numbers."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        choose = SelectChoice("", str(_l("Choose…")))
        self.age_band.choices = [choose, *(SelectChoice(b.value, b.label) for b in AgeBand)]
        self.sex.choices = [SelectChoice(sex.value, sex.label) for sex in Sex]
        self.province.choices = [
            choose,
            *(SelectChoice(code, name) for code, name in region_choices(current_language())),
        ]
        self.needs.choices = [SelectChoice(need.value, need.label) for need in Need]

    def child_values(self) -> ChildValues:
        return ChildValues(
            code=self.code.data or None,
            age_band=self.age_band.data or "",
            sex=self.sex.data or "",
            province=self.province.data or "",
            city=self.city.data or "",
            needs=tuple(self.needs.data or ()),
            needs_detail=self.needs_detail.data or "",
            consent=bool(self.consent.data),
            consent_date=self.consent_date.data,
            notes=self.notes.data or "",
        )


class ImportForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        _l("CSV file"),
        description=_l(
            "UTF-8 CSV with the columns code, age_band, sex, province, city, needs, consent, "
            "consent_date and notes. Nothing is imported unless every row is right."
        ),
    )


class EraseForm(FlaskForm):  # type: ignore[misc]
    confirm = BooleanField(
        _l("I understand this erases the record for good and cannot be undone"),
        validators=[InputRequired(message=_l("Tick the box to confirm the erasure."))],
    )


class LinkChildrenForm(FlaskForm):  # type: ignore[misc]
    children = MultiCheckboxField(_l("Children this payment reached"), validate_choice=False)
