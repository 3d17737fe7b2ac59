"""``giving impact …``: maintenance of the children's registry from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from giving.commands import cli_session
from giving.db import transaction
from giving.disbursements.consent import sweep_withheld
from giving.disbursements.uploads import evidence_storage
from giving.impact.keyring import field_cipher
from giving.impact.records import rotate_encryption


@click.group("impact", help="Children's registry maintenance.")
def impact_group() -> None:
    pass


@impact_group.command(
    "rotate-key",
    help=(
        "Re-encrypt children's records under the first secret in GIVING_DATA_KEY. Put the new "
        "secret first and keep the old one after it until this reports 0 values left."
    ),
)
@with_appcontext
def rotate_key() -> None:
    session = cli_session()
    try:
        with transaction(session):
            count = rotate_encryption(session, field_cipher())
    finally:
        session.close()
    click.echo(f"Re-encrypted {count} values under key {field_cipher().key_id}.")


@impact_group.command(
    "sweep-withheld",
    help=(
        "Delete the stored bytes of evidence files withheld to protect a child, "
        "where a crash left them on disk. Safe to run at any time."
    ),
)
@with_appcontext
def sweep_withheld_files() -> None:
    session = cli_session()
    try:
        swept = sweep_withheld(session, evidence_storage())
    finally:
        session.close()
    click.echo(f"Deleted the bytes of {len(swept)} withheld evidence files.")
    for digest in swept:
        click.echo(f"  {digest}")
