"""Registering, logging in and out, and changing a password, as a person would."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.accounts import services
from giving.accounts.models import Role, User
from giving.audit.models import AuditEvent
from giving.errors import Conflict, PermissionDenied, ValidationError

PASSWORD = "correct horse battery"


def register(client: FlaskClient, **overrides: str) -> object:
    data = {
        "display_name": "Li Wei",
        "email": "li.wei@example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(overrides)
    return client.post("/account/register", data=data)


def test_registering_creates_the_account_with_a_hashed_password_then_asks_to_log_in(
    client: FlaskClient, session: Session
) -> None:
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")
    user = session.scalar(sa.select(User).where(User.email == "li.wei@example.org"))
    assert user is not None
    assert user.roles == {Role.DONOR}
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    page = client.get(response.headers["Location"])
    assert "Thank you for registering." in page.get_data(as_text=True)
    assert b"Log out" not in page.data
    client.post("/account/login", data={"email": "li.wei@example.org", "password": PASSWORD})
    assert b"Log out" in client.get("/").data


def test_registering_as_organiser_grants_the_organiser_role(
    client: FlaskClient, session: Session
) -> None:
    register(client, organiser="y")
    user = session.scalar(sa.select(User).where(User.email == "li.wei@example.org"))
    assert user is not None
    assert user.roles == {Role.DONOR, Role.ORGANISER}


def test_registration_errors_are_shown_and_typed_values_kept(client: FlaskClient) -> None:
    response = register(client, email="not-an-email", password="short", confirm="short")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "not-an-email" in body
    assert 'value="Li Wei"' in body
    assert "aria-invalid" in body


def _registration_answer(app: Flask, **overrides: str) -> tuple[int, str, dict[str, Any], str]:
    """What a visitor sees after registering: status, redirect, session and the next page."""
    client = app.test_client()
    response = register(client, **overrides)
    cookie = client.get_cookie("session", domain="giving.test")
    assert cookie is not None
    stored = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return response.status_code, response.headers["Location"], stored, page


def test_registering_with_a_taken_email_answers_exactly_as_a_new_one_would(
    app: Flask, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """Registration must not tell anyone whether an address has an account."""
    owner = services.register_user(
        session,
        email="li.wei@example.org",
        password="the owner's own passphrase",
        display_name="Li",
    )
    session.commit()
    with caplog.at_level(logging.INFO, logger="giving.accounts.services"):
        taken = _registration_answer(app, email="LI.WEI@example.org", display_name="Someone")
    new = _registration_answer(app, email="new.person@example.org", display_name="Someone")
    assert taken == new
    # No second account, and the owner's account is as it was.
    session.expire_all()
    count = session.scalar(
        sa.select(sa.func.count(User.id)).where(User.email == "li.wei@example.org")
    )
    assert count == 1
    assert services.authenticate(
        session, email="li.wei@example.org", password="the owner's own passphrase"
    )
    assert services.authenticate(session, email="li.wei@example.org", password=PASSWORD) is None
    # Where the owner will be mailed once Giving sends mail: logged by account id for now.
    attempts = [
        r.getMessage() for r in caplog.records if "registration attempted" in r.getMessage()
    ]
    assert attempts == [f"registration attempted with the email of existing account {owner.id}"]
    assert "li.wei@example.org" not in attempts[0]


def test_sign_up_never_creates_an_account_twice(session: Session) -> None:
    first = services.sign_up(session, email="t@example.org", password=PASSWORD, display_name="T")
    again = services.sign_up(session, email="T@example.org", password=PASSWORD, display_name="U")
    assert first is not None
    assert again is None
    assert (
        session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "t@example.org")) == 1
    )


def test_log_in_and_log_out(client: FlaskClient, session: Session) -> None:
    services.register_user(session, email="a@example.org", password=PASSWORD, display_name="A")
    session.commit()
    bad = client.post("/account/login", data={"email": "a@example.org", "password": "wrong-one"})
    assert bad.status_code == 400
    assert "do not match" in bad.get_data(as_text=True)
    good = client.post("/account/login", data={"email": "a@example.org", "password": PASSWORD})
    assert good.status_code == 302
    assert b"Log out" in client.get("/").data
    client.post("/account/logout")
    assert b"Log out" not in client.get("/").data


def test_login_only_follows_next_to_this_site(client: FlaskClient, session: Session) -> None:
    services.register_user(session, email="a@example.org", password=PASSWORD, display_name="A")
    session.commit()
    response = client.post(
        "/account/login?next=//evil.example/steal",
        data={"email": "a@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_changing_the_password_logs_out_other_sessions(
    client: FlaskClient, app: object, session: Session
) -> None:
    services.register_user(session, email="a@example.org", password=PASSWORD, display_name="A")
    session.commit()
    other = app.test_client()  # type: ignore[attr-defined]
    for c in (client, other):
        c.post("/account/login", data={"email": "a@example.org", "password": PASSWORD})
    assert other.get("/account/password").status_code == 200

    wrong = client.post(
        "/account/password",
        data={
            "current": "nope-nope-nope",
            "new": "a new passphrase",
            "confirm": "a new passphrase",
        },
    )
    assert wrong.status_code == 400
    assert "current password is not right" in wrong.get_data(as_text=True)

    ok = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "a new passphrase", "confirm": "a new passphrase"},
    )
    assert ok.status_code == 302
    assert client.get("/account/password").status_code == 200
    assert other.get("/account/password").status_code == 302  # old cookie no longer valid
    # The test's session does not expire objects on commit; whether it still held the user
    # with the old hash depended on when Python's cycle collector last ran.
    session.expire_all()
    user = services.authenticate(session, email="a@example.org", password="a new passphrase")
    assert user is not None


def test_account_page_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/account/password")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_service_refuses_weak_passwords_and_duplicate_emails(session: Session) -> None:
    with pytest.raises(ValidationError, match="at least 10"):
        services.register_user(session, email="b@example.org", password="short", display_name="B")
    services.register_user(session, email="b@example.org", password=PASSWORD, display_name="B")
    with pytest.raises(Conflict):
        services.register_user(session, email="B@Example.org", password=PASSWORD, display_name="B")


def test_admin_grants_and_revokes_roles_with_an_audit_trail(session: Session) -> None:
    admin = services.create_admin(
        session, email="root@example.org", password=PASSWORD, display_name="Root"
    )
    user = services.register_user(
        session, email="c@example.org", password=PASSWORD, display_name="C"
    )
    services.grant_role(session, actor=admin, user_id=user.id, role=Role.AUDITOR)
    assert Role.AUDITOR in user.roles
    services.revoke_role(session, actor=admin, user_id=user.id, role=Role.AUDITOR)
    assert Role.AUDITOR not in user.roles
    actions = session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.subject_id == str(user.id))
    ).all()
    assert "user.role_granted" in actions
    assert "user.role_revoked" in actions


def test_admin_create_command_makes_the_first_admin(runner: object, session: Session) -> None:
    result = runner.invoke(  # type: ignore[attr-defined]
        args=["admin", "create", "--email", "boss@example.org", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    user = services.find_user_by_email(session, "boss@example.org")
    assert user is not None
    assert user.is_admin


def test_admin_create_command_rejects_a_weak_password(runner: object) -> None:
    result = runner.invoke(  # type: ignore[attr-defined]
        args=["admin", "create", "--email", "boss@example.org", "--password", "weak"]
    )
    assert result.exit_code == 2
    assert "at least 10" in result.output


# --- sessions are revocable on the server ---------------------------------------------------


def _log_in_over_http(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/account/login", data={"email": email, "password": password})
    assert response.status_code == 302


def _copy_session_cookie(app: object, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of ``client``'s session cookie (as a thief would)."""
    cookie = client.get_cookie("session", domain="giving.test")
    assert cookie is not None
    thief: FlaskClient = app.test_client()  # type: ignore[attr-defined]
    thief.set_cookie("session", cookie.value, domain=cookie.domain)
    return thief


def test_a_session_cookie_copied_before_log_out_is_refused_after_it(
    client: FlaskClient, app: object, session: Session
) -> None:
    services.register_user(
        session, email="o@example.org", password=PASSWORD, display_name="O", roles={Role.ORGANISER}
    )
    session.commit()
    _log_in_over_http(client, "o@example.org")
    thief = _copy_session_cookie(app, client)
    assert thief.get("/my/campaigns").status_code == 200  # the copy works while logged in

    client.post("/account/logout")

    stale = thief.get("/my/campaigns")
    assert stale.status_code == 302
    assert "/account/login" in stale.headers["Location"]


def test_a_remember_me_cookie_copied_before_log_out_is_refused_after_it(
    client: FlaskClient, app: object, session: Session
) -> None:
    services.register_user(session, email="r@example.org", password=PASSWORD, display_name="R")
    session.commit()
    response = client.post(
        "/account/login", data={"email": "r@example.org", "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    remember = client.get_cookie("remember_token", domain="giving.test")
    assert remember is not None
    thief: FlaskClient = app.test_client()  # type: ignore[attr-defined]
    thief.set_cookie("remember_token", remember.value, domain=remember.domain)
    assert thief.get("/account/password").status_code == 200

    client.post("/account/logout")

    fresh_thief: FlaskClient = app.test_client()  # type: ignore[attr-defined]
    fresh_thief.set_cookie("remember_token", remember.value, domain=remember.domain)
    assert fresh_thief.get("/account/password").status_code == 302


def test_a_session_copied_before_a_password_change_is_refused_after_it(
    client: FlaskClient, app: object, session: Session
) -> None:
    services.register_user(session, email="p@example.org", password=PASSWORD, display_name="P")
    session.commit()
    _log_in_over_http(client, "p@example.org")
    thief = _copy_session_cookie(app, client)
    changed = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "a new passphrase", "confirm": "a new passphrase"},
    )
    assert changed.status_code == 302
    assert thief.get("/account/password").status_code == 302
    assert client.get("/account/password").status_code == 200  # the changer stays logged in


def test_an_admin_disabling_an_account_ends_its_sessions_and_log_ins(
    client: FlaskClient, app: object, session: Session
) -> None:
    admin = services.create_admin(
        session, email="root@example.org", password=PASSWORD, display_name="Root"
    )
    user = services.register_user(
        session, email="d@example.org", password=PASSWORD, display_name="D"
    )
    session.commit()
    _log_in_over_http(client, "d@example.org")
    assert client.get("/account/password").status_code == 200

    services.set_account_active(session, actor=admin, user_id=user.id, active=False)
    session.commit()

    assert client.get("/account/password").status_code == 302
    assert services.authenticate(session, email="d@example.org", password=PASSWORD) is None
    actions = session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.subject_id == str(user.id))
    ).all()
    assert "user.disabled" in actions

    services.set_account_active(session, actor=admin, user_id=user.id, active=True)
    session.commit()
    assert client.get("/account/password").status_code == 302  # the old session stays ended
    _log_in_over_http(client, "d@example.org")
    assert client.get("/account/password").status_code == 200


def test_only_an_admin_disables_accounts_and_never_their_own(session: Session) -> None:
    admin = services.create_admin(
        session, email="root@example.org", password=PASSWORD, display_name="Root"
    )
    user = services.register_user(
        session, email="e@example.org", password=PASSWORD, display_name="E"
    )
    with pytest.raises(PermissionDenied):
        services.set_account_active(session, actor=user, user_id=admin.id, active=False)
    with pytest.raises(Conflict):
        services.set_account_active(session, actor=admin, user_id=admin.id, active=False)
