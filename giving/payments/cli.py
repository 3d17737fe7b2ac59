"""``giving payments …``: operator commands for webhook events and demo gifts."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from giving.commands import cli_session
from giving.config import current_settings


@click.group("payments", help="Payments: webhook events and demo gifts.")
def payments_group() -> None:
    pass


@payments_group.command("retry-events", help="Handle again every webhook event that failed.")
@with_appcontext
def retry_events() -> None:
    from giving.payments import runtime
    from giving.payments.jobs import retry_failed_events

    runtime.init_app(current_app)
    session = cli_session()
    try:
        count = retry_failed_events(session, runtime.runner())
    finally:
        session.close()
    click.echo(f"Handled {count} event(s) again.")


@payments_group.command("seed-demo", help="Give sandbox gifts to live campaigns that have none.")
@click.option("--per-campaign", default=6, show_default=True, type=click.IntRange(1, 100))
@with_appcontext
def seed_demo(per_campaign: int) -> None:
    from giving.payments.demo import seed_demo_donations

    session = cli_session()
    try:
        count = seed_demo_donations(session, settings=current_settings(), per_campaign=per_campaign)
    finally:
        session.close()
    click.echo(f"{count} demo gift(s) recorded through the sandbox.")


@payments_group.command(
    "seed-gifts",
    help="Add COUNT paid sandbox gifts to a live campaign, in bulk (benchmarks, load tests). "
    "Refused in production.",
)
@click.argument("campaign")
@click.argument("count", type=click.IntRange(1, 10_000_000))
@click.option("--batch", default=2_000, show_default=True, type=click.IntRange(1, 50_000))
@click.option("--platform-fee-bps", default=0, show_default=True, type=click.IntRange(0, 10_000))
@with_appcontext
def seed_gifts_command(campaign: str, count: int, batch: int, platform_fee_bps: int) -> None:
    from giving.payments.seeding import SeedRefused, seed_gifts

    settings = current_settings()
    if settings.is_production:
        raise click.UsageError("seeded gifts are test data; refused with GIVING_ENV=production")
    try:
        seeded = seed_gifts(
            current_app.extensions["giving.sessionmaker"],
            campaign,
            count,
            batch=batch,
            platform_fee_bps=platform_fee_bps,
        )
    except SeedRefused as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(
        f"Seeded gifts {seeded.first}–{seeded.first + seeded.count - 1} of {campaign}: "
        f"{seeded.entries} ledger entries."
    )
