"""Host organisation rules: admins register hosts and their members; organisers pick a host.

Who may do what:

* Only admins register a host organisation and add or remove its members; a member is either
  *finance* (approves the hosted campaigns' disbursements) or a plain *member* (may read the
  hosted campaigns' books).
* A campaign's organisers choose its host while the campaign is a draft, i.e. before a
  reviewer approves the campaign with that host in place; after that only an admin can move
  a campaign to another host, because the host is who holds the money donors gave.
"""

from __future__ import annotations

import re
from typing import Protocol

import sqlalchemy as sa
from babel import Locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.accounts.services import find_user_by_email
from giving.audit.services import record_action
from giving.errors import Conflict, NotFound, PermissionDenied, ValidationError
from giving.hosts.models import CampaignHosting, HostMember, HostOrganisation, HostRole
from giving.scanner import check_text


class Hosted(Protocol):
    """A campaign as the host rules see it: only its id (hosts sit below campaigns)."""

    @property
    def id(self) -> int: ...


NAME_MAX = 200
REGISTRATION_MAX = 64
_PHONE = re.compile(r"^\+?[0-9 ()\-]{5,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def country_codes() -> list[str]:
    """ISO 3166-1 alpha-2 codes Babel knows (two letters; regions like "001" are left out)."""
    codes = (str(code) for code in Locale("en").territories)
    return sorted(code for code in codes if re.fullmatch(r"[A-Z]{2}", code))


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can manage host organisations."))


def _clean(value: str, *, field: str, maximum: int, required: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(required, field=field)
    if len(value) > maximum:
        raise ValidationError(_("Use at most %(max)s characters.", max=maximum), field=field)
    return value


def register_host(
    session: Session,
    *,
    actor: User,
    name: str,
    registration_number: str,
    country: str,
    contact_email: str,
    contact_phone: str,
) -> HostOrganisation:
    """Register a charity that may hold campaign funds (admins only)."""
    _require_admin(actor)
    name = _clean(
        name, field="name", maximum=NAME_MAX, required=_("Enter the organisation's name.")
    )
    check_text(name, field="name")  # shown on public campaign pages and in reports
    registration_number = _clean(
        registration_number,
        field="registration_number",
        maximum=REGISTRATION_MAX,
        required=_("Enter the organisation's registration number."),
    )
    country = (country or "").strip().upper()
    if country not in country_codes():
        raise ValidationError(_("Choose a country from the list."), field="country")
    contact_email = (contact_email or "").strip().lower()
    if len(contact_email) > 254 or not _EMAIL.match(contact_email):
        raise ValidationError(_("Enter a valid contact email address."), field="contact_email")
    contact_phone = (contact_phone or "").strip()
    if not _PHONE.match(contact_phone) or sum(c.isdigit() for c in contact_phone) < 5:
        raise ValidationError(
            _("Enter a contact phone number, e.g. +86 10 1234 5678."), field="contact_phone"
        )
    if session.scalar(sa.select(HostOrganisation.id).where(HostOrganisation.name == name)):
        raise Conflict(_("A host organisation with that name already exists."), field="name")
    if session.scalar(
        sa.select(HostOrganisation.id).where(
            HostOrganisation.country == country,
            HostOrganisation.registration_number == registration_number,
        )
    ):
        raise Conflict(
            _("A host organisation with that registration number already exists."),
            field="registration_number",
        )
    host = HostOrganisation(
        name=name,
        registration_number=registration_number,
        country=country,
        contact_email=contact_email,
        contact_phone=contact_phone,
        created_by_id=actor.id,
    )
    session.add(host)
    session.flush()
    record_action(
        session,
        actor_id=actor.id,
        action="host.registered",
        subject_type="host",
        subject_id=host.id,
        name=name,
        registration_number=registration_number,
        country=country,
    )
    return host


def add_member(
    session: Session, *, actor: User, host: HostOrganisation, email: str, role: HostRole | str
) -> HostMember:
    """Make an existing account a member of ``host`` (or change its role there)."""
    _require_admin(actor)
    try:
        role = HostRole(role)
    except ValueError:
        raise ValidationError(_("Choose finance or member."), field="role") from None
    user = find_user_by_email(session, email or "")
    if user is None:
        raise ValidationError(
            _("No account uses that email address; ask the person to register first."),
            field="email",
        )
    member = session.get(HostMember, (host.id, user.id))
    if member is None:
        member = HostMember(user_id=user.id, role=role.value)
        host.members.append(member)
    else:
        member.role = role.value
    session.flush()
    record_action(
        session,
        actor_id=actor.id,
        action="host.member_set",
        subject_type="host",
        subject_id=host.id,
        user_id=user.id,
        role=role.value,
    )
    return member


def remove_member(session: Session, *, actor: User, host: HostOrganisation, user_id: int) -> None:
    _require_admin(actor)
    member = session.get(HostMember, (host.id, user_id))
    if member is None:
        raise NotFound(_("That person is not a member of this organisation."))
    host.members.remove(member)
    session.flush()
    record_action(
        session,
        actor_id=actor.id,
        action="host.member_removed",
        subject_type="host",
        subject_id=host.id,
        user_id=user_id,
    )


# --- reading -----------------------------------------------------------------------------


def get_host(session: Session, host_id: int) -> HostOrganisation:
    host = session.get(HostOrganisation, host_id)
    if host is None:
        raise NotFound(_("We could not find that host organisation."))
    return host


def list_hosts(session: Session) -> list[HostOrganisation]:
    return list(session.scalars(sa.select(HostOrganisation).order_by(HostOrganisation.name)))


def host_of(session: Session, campaign: Hosted) -> HostOrganisation | None:
    """The organisation hosting ``campaign``, if one has been chosen."""
    hosting = session.get(CampaignHosting, campaign.id)
    return hosting.host if hosting is not None else None


def host_role(session: Session, user: User | None, campaign: Hosted) -> HostRole | None:
    """``user``'s role in the organisation hosting ``campaign`` (None if not a member)."""
    if user is None:
        return None
    role = session.scalar(
        sa.select(HostMember.role)
        .join(CampaignHosting, CampaignHosting.host_id == HostMember.host_id)
        .where(CampaignHosting.campaign_id == campaign.id, HostMember.user_id == user.id)
    )
    return HostRole(role) if role is not None else None


def is_host_finance(session: Session, user: User | None, campaign: Hosted) -> bool:
    return host_role(session, user, campaign) is HostRole.FINANCE


def memberships(session: Session, user: User) -> list[HostMember]:
    """The host organisations ``user`` belongs to."""
    return list(
        session.scalars(
            sa.select(HostMember).where(HostMember.user_id == user.id).order_by(HostMember.added_at)
        )
    )
