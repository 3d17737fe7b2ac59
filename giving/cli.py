"""The ``giving`` console script: a Flask CLI group whose commands call services.

Commands are thin: parse arguments, open one transaction, call a service, print the result.
Bad arguments exit with status 2 and a message that says what was wrong.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from giving.commands import cli_session, fail
from giving.config import current_settings
from giving.errors import DomainError


def _create_app() -> Flask:
    from giving import create_app

    return create_app()


@click.group("db", help="Database schema commands.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply every migration up to the newest (or REVISION).")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    from giving.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database upgraded to {revision}.")


@click.group("admin", help="Administration commands.")
def admin_group() -> None:
    pass


@admin_group.command("create", help="Create the first admin account (or promote one).")
@click.option("--email", prompt=True)
@click.option("--name", "display_name", default="Administrator", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def admin_create(email: str, display_name: str, password: str) -> None:
    from giving.accounts.services import create_admin
    from giving.db import transaction

    session = cli_session()
    try:
        with transaction(session):
            user = create_admin(session, email=email, password=password, display_name=display_name)
            click.echo(f"Admin ready: {user.email}")
    except DomainError as exc:
        fail(exc.message)
    finally:
        session.close()


@click.command("demo", help="Migrate the database and seed demo data (safe to run again).")
@with_appcontext
def demo_command() -> None:
    from giving.demo import seed_demo
    from giving.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    session = cli_session()
    try:
        report = seed_demo(session, current_settings())
    finally:
        session.close()
    click.echo(report)


@click.group("campaigns", help="Campaign maintenance.")
def campaigns_group() -> None:
    pass


@campaigns_group.command(
    "close-ended", help="Close live campaigns whose end date is over (run it periodically)."
)
@with_appcontext
def campaigns_close_ended() -> None:
    from giving.campaigns.services import close_ended
    from giving.db import transaction, utcnow

    session = cli_session()
    try:
        with transaction(session):
            closed = [c.public_id for c in close_ended(session, now=utcnow())]
    finally:
        session.close()
    click.echo(
        f"Closed {len(closed)} ended campaigns" + (f": {', '.join(closed)}" if closed else ".")
    )


def register_commands(app: Flask) -> None:
    for command in (db_group, admin_group, demo_command, campaigns_group):
        app.cli.add_command(command)
    # Ledger: `giving ledger …`, `giving keys …`, `giving export …`.
    from giving.ledger.cli import export_group, keys_group, ledger_group

    for group in (ledger_group, keys_group, export_group):
        app.cli.add_command(group)
    # Reports: `giving report build`; `giving export csv|iati` join the ledger's export group.
    from giving.reports.cli import report_group

    app.cli.add_command(report_group)
    # Payments: `giving payments retry-events|seed-demo`.
    from giving.payments.cli import payments_group

    app.cli.add_command(payments_group)
    # Impact: `giving impact rotate-key` (children's records under a new data key).
    from giving.impact.cli import impact_group

    app.cli.add_command(impact_group)


class GivingGroup(FlaskGroup):
    """``giving``: Flask's own commands (run, shell, routes) plus Giving's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(create_app=_create_app, add_version_option=False, **kwargs)


main = GivingGroup(name="giving", help="Giving: transparent micro-philanthropy.")
