"""Account rules: registration, authentication, passwords and role grants."""

from __future__ import annotations

import contextlib
import logging
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import Role, User, UserRole
from giving.audit.services import record_action
from giving.errors import Conflict, NotFound, PermissionDenied, ValidationError
from giving.scanner import check_text

log = logging.getLogger(__name__)

# Argon2id with the RFC 9106 "second recommended" parameters (the argon2-cffi default).
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# Verified against when the email is unknown, so a failed log-in costs the same either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def normalise_email(raw: str) -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(
            _("That email address is not valid: %(reason)s", reason=exc), field="email"
        ) from None
    return result.normalized.lower()


def check_password_strength(password: str, *, email: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _("Use at least %(count)s characters for your password", count=MIN_PASSWORD_LENGTH),
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(_("That password is too long"), field="password")
    if email and password.lower() == email.lower():
        raise ValidationError(_("Your password may not be your email address"), field="password")


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def register_user(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str,
    roles: set[Role] | None = None,
) -> User:
    """Create an account, refusing a taken email (for the CLI and demo, not the web form).

    Everyone is a donor; organisers opt in when they register. The registration page uses
    ``sign_up`` instead, which never says whether an email is taken.
    """
    email, display_name = _check_registration(email, password, display_name)
    if find_user_by_email(session, email) is not None:
        raise Conflict(_("An account with that email already exists"), field="email")
    return _create_user(session, email, _hasher.hash(password), display_name, roles)


def sign_up(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str,
    roles: set[Role] | None = None,
) -> User | None:
    """Registration from the web: the new account, or None if the email already had one.

    The caller must answer both cases alike (same page, message and status), so nobody can
    learn from the form whether an address has an account; the owner of a taken address is
    told instead (``tell_owner_of_registration_attempt``). The password is hashed either way
    so both take the same time, and a concurrent registration of the same address, caught by
    the UNIQUE email, also ends as None: an account is never created twice.
    """
    email, display_name = _check_registration(email, password, display_name)
    password_hash = _hasher.hash(password)
    existing = find_user_by_email(session, email)
    if existing is None:
        try:
            with session.begin_nested():
                return _create_user(session, email, password_hash, display_name, roles)
        except sa.exc.IntegrityError:
            existing = find_user_by_email(session, email)
            if existing is None:  # pragma: no cover - the conflict was on something else
                raise
    tell_owner_of_registration_attempt(session, existing)
    return None


def tell_owner_of_registration_attempt(session: Session, owner: User) -> None:
    """Someone tried to register with ``owner``'s email: the owner, and only they, should know.

    This is where the "someone tried to register with your email; if it was you, log in
    or reset your password" mail will be sent once Giving sends mail. Until then it is only
    logged (by account id, not address) so the attempt is not lost.
    """
    del session  # the mail adapter will need it to queue the message
    log.info("registration attempted with the email of existing account %s", owner.id)


def _check_registration(email: str, password: str, display_name: str) -> tuple[str, str]:
    email = normalise_email(email)
    display_name = display_name.strip()
    if not display_name:
        raise ValidationError(_("Tell us what to call you"), field="display_name")
    if len(display_name) > 80:
        raise ValidationError(_("Use at most 80 characters for your name"), field="display_name")
    # A name is shown publicly (organisers on campaign pages, update authors, auditors).
    check_text(display_name, field="display_name")
    check_password_strength(password, email=email)
    return email, display_name


def _create_user(
    session: Session,
    email: str,
    password_hash: str,
    display_name: str,
    roles: set[Role] | None,
) -> User:
    wanted = {Role.DONOR} | (roles or set())
    user = User(
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        session_token=secrets.token_hex(16),
    )
    user.role_rows = [UserRole(role=role.value) for role in sorted(wanted)]
    session.add(user)
    session.flush()
    record_action(
        session,
        actor_id=user.id,
        action="user.registered",
        subject_type="user",
        subject_id=user.id,
        roles=sorted(r.value for r in wanted),
    )
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """Return the user if the password matches; upgrade the hash if parameters changed."""
    user = find_user_by_email(session, email)
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def change_password(session: Session, *, user: User, current: str, new: str) -> None:
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise ValidationError(_("Your current password is not right"), field="current") from None
    check_password_strength(new, email=user.email)
    user.password_hash = _hasher.hash(new)
    _end_sessions(user)
    record_action(
        session,
        actor_id=user.id,
        action="user.password_changed",
        subject_type="user",
        subject_id=user.id,
    )
    session.flush()


def _end_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of ``user`` on the server.

    Cookies are signed, not stored, so a copy outlives a log-out in the browser; each one
    carries the session token, which the user loader compares with the account's, and a
    new token makes every cookie issued before it worthless.
    """
    user.session_token = secrets.token_hex(16)


def log_out_everywhere(session: Session, *, user: User) -> None:
    """Log-out: end this and every other session of the account, copied cookies included."""
    _end_sessions(user)
    session.flush()


def set_account_active(session: Session, *, actor: User, user_id: int, active: bool) -> User:
    """An admin disables an account (its sessions end at once) or enables it again."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can disable or enable accounts"))
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user"))
    if user.id == actor.id and not active:
        raise Conflict(_("You cannot disable your own account"))
    if user.active != active:
        user.active = active
        # Enabling does not bring old sessions back: the person logs in again.
        _end_sessions(user)
        record_action(
            session,
            actor_id=actor.id,
            action="user.enabled" if active else "user.disabled",
            subject_type="user",
            subject_id=user.id,
        )
        session.flush()
    return user


def load_user_for_session(session: Session, session_id: str) -> User | None:
    """Resolve Flask-Login's "<id>:<token>" so a changed password logs out old cookies."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def grant_role(session: Session, *, actor: User, user_id: int, role: Role) -> User:
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can grant roles"))
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user"))
    if role not in user.roles:
        user.role_rows.append(UserRole(role=role.value))
        record_action(
            session,
            actor_id=actor.id,
            action="user.role_granted",
            subject_type="user",
            subject_id=user.id,
            role=role.value,
        )
        session.flush()
    return user


def revoke_role(session: Session, *, actor: User, user_id: int, role: Role) -> User:
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can revoke roles"))
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user"))
    if role is Role.ADMIN and user.id == actor.id:
        raise Conflict(_("You cannot remove your own admin role"))
    user.role_rows = [row for row in user.role_rows if row.role != role.value]
    record_action(
        session,
        actor_id=actor.id,
        action="user.role_revoked",
        subject_type="user",
        subject_id=user.id,
        role=role.value,
    )
    session.flush()
    return user


def create_admin(session: Session, *, email: str, password: str, display_name: str) -> User:
    """Bootstrap the first admin from the CLI, or promote an existing account."""
    existing = find_user_by_email(session, normalise_email(email))
    if existing is not None:
        if Role.ADMIN not in existing.roles:
            existing.role_rows.append(UserRole(role=Role.ADMIN.value))
            record_action(
                session,
                actor_id=None,
                action="user.role_granted",
                subject_type="user",
                subject_id=existing.id,
                role="admin",
                via="cli",
            )
        session.flush()
        return existing
    return register_user(
        session, email=email, password=password, display_name=display_name, roles={Role.ADMIN}
    )


def list_users(session: Session, *, query: str = "", limit: int = 200) -> list[User]:
    stmt = sa.select(User).order_by(User.created_at.desc()).limit(limit)
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(User.email).like(like), sa.func.lower(User.display_name).like(like)
            )
        )
    return list(session.scalars(stmt))
