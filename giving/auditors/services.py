"""Granting and revoking auditors' access, and the question every package asks: may they look?

An admin grants a user who holds the auditor role access to one campaign until a date; the
grant gives read access to the campaign's books, report versions, exports and evidence
originals, and ends by itself.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import Role, User
from giving.audit.services import record_action
from giving.auditors.models import AuditorGrant
from giving.campaigns.models import Campaign
from giving.db import utcnow
from giving.errors import Conflict, NotFound, PermissionDenied, ValidationError

MAX_GRANT_DAYS = 366
NOTE_MAX = 300


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can do that."))


def find_user_by_email(session: Session, email: str) -> User:
    user: User | None = session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())
    )
    if user is None:
        raise NotFound(_("There is no account with that email address."), field="auditor_email")
    return user


def grant_access(
    session: Session,
    *,
    actor: User,
    auditor: User,
    campaign: Campaign,
    expires_at: dt.datetime,
    note: str = "",
    now: dt.datetime | None = None,
) -> AuditorGrant:
    """Give ``auditor`` read access to ``campaign`` until ``expires_at``."""
    _require_admin(actor)
    now = now or utcnow()
    if not auditor.has_role(Role.AUDITOR):
        raise ValidationError(
            _(
                "%(name)s is not an auditor: give the account the auditor role first.",
                name=auditor.display_name,
            ),
            field="auditor_email",
        )
    if expires_at <= now:
        raise ValidationError(_("The access must end in the future."), field="expires_on")
    if expires_at > now + dt.timedelta(days=MAX_GRANT_DAYS):
        raise ValidationError(
            _("Access can be granted for at most %(days)s days at a time.", days=MAX_GRANT_DAYS),
            field="expires_on",
        )
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(_("Keep the note under %(n)s characters.", n=NOTE_MAX), field="note")
    grant = AuditorGrant(
        auditor_id=auditor.id,
        campaign_id=campaign.id,
        granted_by_id=actor.id,
        granted_at=now,
        expires_at=expires_at,
        note=note,
    )
    session.add(grant)
    session.flush()
    record_action(
        session,
        actor_id=actor.id,
        action="auditor.granted",
        subject_type="campaign",
        subject_id=campaign.public_id,
        auditor_id=auditor.id,
        expires_at=expires_at.isoformat(),
    )
    return grant


def revoke_access(
    session: Session, *, actor: User, grant: AuditorGrant, now: dt.datetime | None = None
) -> AuditorGrant:
    _require_admin(actor)
    if grant.revoked_at is not None:
        raise Conflict(_("That access was already revoked."))
    grant.revoked_at = now or utcnow()
    grant.revoked_by_id = actor.id
    session.flush()
    record_action(
        session,
        actor_id=actor.id,
        action="auditor.revoked",
        subject_type="campaign",
        subject_id=grant.campaign.public_id,
        auditor_id=grant.auditor_id,
    )
    return grant


def get_grant(session: Session, grant_id: int) -> AuditorGrant:
    grant = session.get(AuditorGrant, grant_id)
    if grant is None:
        raise NotFound(_("We could not find that access grant."))
    return grant


def _active(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        AuditorGrant.revoked_at.is_(None),
        AuditorGrant.granted_at <= now,
        AuditorGrant.expires_at > now,
    )


def has_auditor_access(
    session: Session, actor: User | None, campaign: Campaign, now: dt.datetime | None = None
) -> bool:
    """Whether ``actor`` holds an active auditor grant for ``campaign`` right now."""
    if actor is None or not actor.has_role(Role.AUDITOR):
        return False
    found = session.scalar(
        sa.select(AuditorGrant.id).where(
            AuditorGrant.auditor_id == actor.id,
            AuditorGrant.campaign_id == campaign.id,
            _active(now or utcnow()),
        )
    )
    return found is not None


def active_grants(
    session: Session, auditor: User, now: dt.datetime | None = None
) -> list[AuditorGrant]:
    if not auditor.has_role(Role.AUDITOR):
        return []
    return list(
        session.scalars(
            sa.select(AuditorGrant)
            .where(AuditorGrant.auditor_id == auditor.id, _active(now or utcnow()))
            .order_by(AuditorGrant.expires_at)
        )
    )


def all_grants(session: Session, limit: int = 200) -> list[AuditorGrant]:
    return list(
        session.scalars(sa.select(AuditorGrant).order_by(AuditorGrant.id.desc()).limit(limit))
    )
