"""Builders for users and campaigns in any state, made through the real services.

Users get a password hash computed once per run (Argon2 is slow on purpose), and
``log_in`` puts a user's session straight into the test client's cookie, so view tests do
not pay for a password check each time. Accounts tests cover the real log-in form.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import secrets
from typing import Any

from argon2 import PasswordHasher
from flask.testing import FlaskClient
from flask_login.utils import _create_identifier
from PIL import Image
from sqlalchemy.orm import Session

from giving.accounts.models import Role, User, UserRole
from giving.campaigns import hosting, services
from giving.campaigns.models import Campaign, CampaignState
from giving.db import utcnow
from giving.hosts import services as hosts
from giving.hosts.models import HostOrganisation
from giving.money import Money

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)
_hosts = itertools.count(1)


@functools.cache
def _password_hash() -> str:
    return PasswordHasher().hash(PASSWORD)


def make_user(
    session: Session,
    *,
    roles: tuple[Role, ...] = (),
    email: str | None = None,
    name: str | None = None,
) -> User:
    number = next(_numbers)
    user = User(
        email=email or f"person{number}-{secrets.token_hex(3)}@example.org",
        display_name=name or f"Person {number}",
        password_hash=_password_hash(),
        session_token=secrets.token_hex(16),
    )
    user.role_rows = [UserRole(role=role.value) for role in sorted({Role.DONOR, *roles})]
    session.add(user)
    session.flush()
    return user


def make_donor(session: Session, **kwargs: Any) -> User:
    return make_user(session, **kwargs)


def make_organiser(session: Session, **kwargs: Any) -> User:
    return make_user(session, roles=(Role.ORGANISER,), **kwargs)


def make_admin(session: Session, **kwargs: Any) -> User:
    return make_user(session, roles=(Role.ADMIN,), **kwargs)


def campaign_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "School books for Liangshan",
        "summary": "Textbooks and exercise books for forty pupils in a mountain school.",
        "story": "The nearest bookshop is **three hours** away.\n\n- textbooks\n- pencils",
        "language": "en",
        "goal": Money(500_000, "CNY"),
        "ends_on": utcnow().date() + dt.timedelta(days=60),
        "region": "CN-SC",
        "category": "education",
    }
    values.update(overrides)
    return values


def make_host(session: Session, admin: User, **overrides: str) -> HostOrganisation:
    """A registered host organisation (a charity that may hold campaign funds)."""
    number = next(_hosts)
    values = {
        "name": f"Sichuan Children's Charity Foundation {number}",
        "registration_number": f"53510000MJ{number:08d}",
        "country": "CN",
        "contact_email": f"finance{number}@charity.example.org",
        "contact_phone": "+86 28 1234 5678",
    }
    values.update(overrides)
    return hosts.register_host(session, actor=admin, **values)


def choose_host(
    session: Session,
    campaign: Campaign,
    host: HostOrganisation | None = None,
    *,
    admin: User | None = None,
) -> HostOrganisation:
    """Have the draft's owner choose its host, registering one (by ``admin``) if none given."""
    if host is None:
        host = make_host(session, admin or make_admin(session))
    owner = session.get(User, campaign.created_by_id)
    assert owner is not None
    hosting.assign_host(session, actor=owner, campaign=campaign, host=host)
    return host


def make_campaign(
    session: Session,
    *,
    owner: User | None = None,
    state: CampaignState = CampaignState.DRAFT,
    admin: User | None = None,
    host: HostOrganisation | None = None,
    **overrides: Any,
) -> Campaign:
    """A campaign brought to ``state`` through the same services the pages call.

    A draft has no host unless ``host`` is given; any later state needs one, so the owner
    chooses ``host`` (or a newly registered one) before submitting, as on the pages.
    """
    owner = owner or make_organiser(session)
    campaign = services.create_campaign(session, actor=owner, **campaign_values(**overrides))
    if state == CampaignState.DRAFT:
        if host is not None:
            choose_host(session, campaign, host)
        return campaign
    admin = admin or make_admin(session)
    choose_host(session, campaign, host, admin=admin)
    services.submit_for_review(session, actor=owner, campaign=campaign)
    if state == CampaignState.IN_REVIEW:
        return campaign
    services.approve(session, actor=admin, campaign=campaign)
    if state == CampaignState.CLOSED:
        services.close(session, actor=owner, campaign=campaign)
    elif state == CampaignState.FROZEN:
        services.freeze(session, actor=admin, campaign=campaign, reason="Checking receipts")
    return campaign


def log_in(client: FlaskClient, user: User) -> None:
    """Log ``user`` in on ``client`` the way Flask-Login's own session would record it."""
    app = client.application
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = user.get_id()
        flask_session["_fresh"] = True
        flask_session["_id"] = identifier


def image_bytes(
    image_format: str = "JPEG", size: tuple[int, int] = (320, 180), mode: str = "RGB"
) -> bytes:
    """A real image made in memory."""
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, image_format)
    return buffer.getvalue()
