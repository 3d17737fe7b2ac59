"""``giving report build`` and ``giving export csv|iati`` (``export jsonl`` is the ledger's).

Thin, like every command: parse, open one transaction, call a service, write the file.
Bad input (an unknown campaign, a campaign with no entries, a language that is not offered,
a destination that cannot be written) exits 2 with a message and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from giving.commands import cli_session, fail
from giving.config import current_settings
from giving.db import transaction
from giving.errors import DomainError
from giving.ledger.cli import export_group
from giving.ledger.export import ExportPathError, check_destination

ALL = "all"  # every campaign, as for `export jsonl all`
P = ParamSpec("P")
R = TypeVar("R")


def in_english(command: Callable[P, R]) -> Callable[P, R]:
    """Messages in English: a command has no request, so no browser language to follow."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with force_locale("en"):
            return command(*args, **kwargs)

    return wrapper


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    partial.replace(path)


def _destination(path: Path) -> None:
    try:
        check_destination(path)
    except ExportPathError as exc:
        fail(f"cannot write {path}: {exc}")


@click.group("report", help="Accountability reports (PDF).")
def report_group() -> None:
    pass


@report_group.command("build", help="Build a campaign's report from the ledger (not published).")
@click.argument("campaign", metavar="CAMPAIGN_PUBLIC_ID|SLUG")
@click.option("--lang", "language", default="en", show_default=True, help="en or zh")
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="PDF file to write."
)
@with_appcontext
@in_english
def report_build(campaign: str, language: str, output: Path) -> None:
    from giving.ledger.keys import load_signing_key
    from giving.reports.gather import check_language, find_campaign
    from giving.reports.services import build_draft

    _destination(output)
    settings = current_settings()
    session = cli_session()
    try:
        check_language(language)
        key = load_signing_key(settings)
        with transaction(session):
            found = find_campaign(session, campaign)
            pdf = build_draft(session, found, language=language, settings=settings, key=key)
    except DomainError as exc:
        fail(exc.message)
    finally:
        session.close()
    _write(output, pdf)
    click.echo(f"Wrote the {language} report of {found.public_id} ({len(pdf)} bytes) to {output}.")


@export_group.command("csv", help="Write a campaign's (or every) ledger entry and posting as CSV.")
@click.argument("campaign", metavar="CAMPAIGN_PUBLIC_ID|SLUG|all")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@with_appcontext
@in_english
def export_csv_command(campaign: str, output: Path) -> None:
    from giving.reports.exports import export_csv
    from giving.reports.gather import find_campaign

    _destination(output)
    session = cli_session()
    try:
        with transaction(session):
            public_id = None if campaign == ALL else find_campaign(session, campaign).public_id
            count = export_csv(session, public_id, output)
    except DomainError as exc:
        fail(exc.message)
    finally:
        session.close()
    what = "the whole ledger" if public_id is None else public_id
    click.echo(f"Exported {count} entries of {what} as CSV to {output}.")


@export_group.command(
    "iati", help="Write a campaign (or every public one) as IATI 2.03 activity XML."
)
@click.argument("campaign", metavar="CAMPAIGN_PUBLIC_ID|SLUG|all")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@with_appcontext
@in_english
def export_iati_command(campaign: str, output: Path) -> None:
    from giving.reports.gather import find_campaign
    from giving.reports.iati import activities_xml, public_campaigns

    _destination(output)
    session = cli_session()
    try:
        with transaction(session):
            chosen = (
                public_campaigns(session) if campaign == ALL else [find_campaign(session, campaign)]
            )
            xml = activities_xml(session, chosen, current_settings())
    except DomainError as exc:
        fail(exc.message)
    finally:
        session.close()
    _write(output, xml)
    what = f"{len(chosen)} campaigns" if campaign == ALL else chosen[0].public_id
    click.echo(f"Exported {what} as IATI 2.03 XML to {output}.")
