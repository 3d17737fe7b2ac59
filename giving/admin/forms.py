"""Admin forms. Pages list many campaigns or users, each with its own small form, so every
form is built with a per-row ``prefix`` to keep field names and HTML ids unique."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from giving.accounts.models import Role
from giving.campaigns.models import CampaignState

ROLE_LABELS = {
    Role.DONOR: _l("Donor"),
    Role.ORGANISER: _l("Organiser"),
    Role.AUDITOR: _l("Auditor"),
    Role.ADMIN: _l("Admin"),
}


class RejectForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        _l("Reason for rejecting"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("The organisers see this note and can change the campaign."),
    )


class FreezeForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        _l("Reason for freezing"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("Shown publicly on the campaign page."),
    )


class FeatureForm(FlaskForm):  # type: ignore[misc]
    featured = HiddenField(validators=[AnyOf(["0", "1"])])


class AccountActiveForm(FlaskForm):  # type: ignore[misc]
    """Disable ("0") or enable ("1") an account; disabling ends its sessions at once."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])


class RoleForm(FlaskForm):  # type: ignore[misc]
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
    )


class CampaignStateFilter(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False

    state = SelectField(_l("State"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state.choices = [
            SelectChoice("", _l("All states")),
            *[SelectChoice(state.value, state.label) for state in CampaignState],
        ]


class UserSearchForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False

    q = StringField(_l("Name or email"), validators=[Optional(), Length(max=100)])
