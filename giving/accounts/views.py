"""Account pages: register, log in, log out, change password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import login_user, logout_user

from giving.accounts import services
from giving.accounts.current import current_actor, require_actor
from giving.accounts.forms import ChangePasswordForm, EmptyForm, LoginForm, RegisterForm
from giving.accounts.models import Role
from giving.db import transaction
from giving.errors import DomainError
from giving.extensions import limiter
from giving.forms_util import attach_error
from giving.redirects import next_target
from giving.web import db_session, login_required

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register() -> ResponseReturnValue:
    form = RegisterForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            with transaction(session):
                services.sign_up(
                    session,
                    email=form.email.data,
                    password=form.password.data,
                    display_name=form.display_name.data,
                    roles={Role.ORGANISER} if form.organiser.data else set(),
                )
        except DomainError as exc:
            attach_error(form, exc)
        else:
            # The same answer whether the account is new or the email already had one, so
            # the form cannot be used to find out who has an account: nobody is logged in.
            flash(
                _(
                    "Thank you for registering. Log in with your email address and password. "
                    "If that address already had an account, nothing about it has changed."
                ),
                "success",
            )
            return redirect(url_for("accounts.login", next=next_target("") or None))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute;50 per hour", methods=["POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        session = db_session()
        with transaction(session):
            user = services.authenticate(
                session, email=form.email.data, password=form.password.data
            )
        if user is not None:
            login_user(user, remember=bool(form.remember.data))
            flash(_("You are logged in."), "success")
            return redirect(next_target(url_for("pages.home")))
        form.form_errors.append(_("That email and password do not match an account."))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    form = EmptyForm()
    if form.validate_on_submit():
        actor = current_actor()
        if actor is not None:
            session = db_session()
            with transaction(session):
                services.log_out_everywhere(session, user=actor)
        logout_user()
        flash(_("You are logged out."), "info")
    return redirect(url_for("pages.home"))


def _account_key() -> str:
    """Rate-limit key of the logged-in account, so changing address does not reset it."""
    actor = current_actor()
    return f"account:{actor.id}" if actor is not None else f"ip:{get_remote_address()}"


@bp.route("/password", methods=["GET", "POST"])
@login_required
# Each attempt checks the current password: without a limit, a borrowed or stolen session
# could guess it and then lock the owner out by changing it.
@limiter.limit("5 per 15 minutes;20 per day", methods=["POST"], key_func=_account_key)
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = require_actor()
        session = db_session()
        try:
            with transaction(session):
                services.change_password(
                    session, user=user, current=form.current.data, new=form.new.data
                )
        except DomainError as exc:
            attach_error(form, exc)
        else:
            login_user(user)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("accounts.change_password"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/password.html", form=form), status
