"""Account pages: register, log in, log out, change password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from giving.accounts import services
from giving.accounts.forms import ChangePasswordForm, EmptyForm, LoginForm, RegisterForm
from giving.accounts.models import Role
from giving.db import transaction
from giving.errors import DomainError
from giving.extensions import limiter
from giving.forms_util import attach_error
from giving.redirects import next_target
from giving.web import db_session, login_required, require_actor

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register() -> ResponseReturnValue:
    form = RegisterForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            with transaction(session):
                user = services.register_user(
                    session,
                    email=form.email.data,
                    password=form.password.data,
                    display_name=form.display_name.data,
                    roles={Role.ORGANISER} if form.organiser.data else set(),
                )
        except DomainError as exc:
            attach_error(form, exc)
        else:
            login_user(user)
            flash(_("Welcome to Giving, %(name)s.", name=user.display_name), "success")
            return redirect(next_target(url_for("pages.home")))
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
        logout_user()
        flash(_("You are logged out."), "info")
    return redirect(url_for("pages.home"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
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
