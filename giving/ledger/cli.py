"""``giving ledger …``, ``giving keys …`` and ``giving export …`` commands.

Thin, like every command: parse, open one transaction, call the ledger, print. Bad
arguments exit 2 and write nothing; ``ledger verify`` exits 1 when the ledger is corrupt.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import Engine

from giving.commands import cli_session, fail
from giving.config import current_settings
from giving.db import transaction, utcnow
from giving.errors import DomainError

# A seq as the BIGINT column holds it; a larger one would fail in the driver, not here.
SEQ = click.IntRange(min=0, max=2**63 - 1)


# ------------------------------------------------------------------------------ ledger


@click.group("ledger", help="The verifiable append-only ledger.")
def ledger_group() -> None:
    pass


@ledger_group.command(
    "verify",
    help="Recompute every entry, tree node and checkpoint, then every derived figure.",
)
@click.option(
    "--key",
    "vkey_option",
    metavar="VKEY",
    help="Check checkpoints against this vkey (text or file) instead of the local key.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help=(
        "Processes that rebuild leaves (default: by CPU count for 50,000+ entries on SQLite, "
        "none on PostgreSQL, whose fast reader works without them; 0: none)."
    ),
)
@click.option(
    "--figures/--no-figures",
    default=True,
    help="Also replay the ledger and compare the stored totals, donors and FIFO book.",
)
@with_appcontext
def ledger_verify(vkey_option: str | None, workers: int | None, figures: bool) -> None:
    from giving.ledger.checkpoint import CheckpointError, parse_vkey
    from giving.ledger.keys import load_signing_key, vkey_text
    from giving.ledger.verify import LedgerCorrupt, verify_ledger

    settings = current_settings()
    vkey = None
    if vkey_option is not None:
        text = vkey_option
        if "+" not in text or Path(text).is_file():
            try:
                text = Path(text).read_text(encoding="utf-8")
            except OSError as exc:
                fail(f"cannot read the key file {vkey_option}: {exc.strerror}")
        try:
            vkey = parse_vkey(text)
        except CheckpointError as exc:
            fail(f"--key: {exc}")
    else:
        try:
            vkey = parse_vkey(vkey_text(settings, load_signing_key(settings, create=False)))
        except DomainError:
            vkey = None  # fine while there are no checkpoints; reported if there are
    from giving.ledger.figures import FiguresMismatch
    from giving.ledger.figures_replay import check_figures

    session = cli_session()
    try:
        bind = session.get_bind()
        if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
            # One snapshot for both passes, so entries sealed meanwhile are in neither. (A
            # session bound to a connection already in a transaction, as in tests, keeps it.)
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        # Each checkpoint is checked against the origin and key name it was signed under,
        # never against today's settings: renaming the log must not fail old checkpoints.
        report = verify_ledger(session, vkey, workers=workers)
        replayed = check_figures(session) if figures else None
    except (LedgerCorrupt, FiguresMismatch) as exc:
        click.echo(f"FAILED: {exc.message}", err=True)
        sys.exit(1)
    finally:
        session.close()
    click.echo(report.summary())
    if replayed is not None:
        click.echo(replayed.summary())


@ledger_group.command(
    "rebuild-figures",
    help="Rewrite the derived totals, donors and FIFO book from a replay of the ledger.",
)
@with_appcontext
def ledger_rebuild_figures() -> None:
    from giving.ledger.figures_replay import rebuild_figures
    from giving.ledger.sealing import lock_ledger

    session = cli_session()
    try:
        with transaction(session):
            lock_ledger(session)  # nothing is sealed while the tables are rewritten
            replayed = rebuild_figures(session)
    finally:
        session.close()
    click.echo(f"rebuilt: {replayed.summary()}")


@ledger_group.command("checkpoint", help="Sign the current tree head, store it and print it.")
@with_appcontext
def ledger_checkpoint() -> None:
    from giving.ledger.keys import ledger_origin, load_signing_key
    from giving.ledger.services import make_checkpoint

    settings = current_settings()
    session = cli_session()
    try:
        key = load_signing_key(settings)
        with transaction(session):
            checkpoint = make_checkpoint(session, key, origin=ledger_origin(settings))
            note = checkpoint.note
    except DomainError as exc:
        fail(exc.message)
    finally:
        session.close()
    click.echo(note, nl=False)


def _posting(text: str) -> tuple[str, int, str]:
    """ACCOUNT,AMOUNT,CURRENCY with AMOUNT a whole number of minor units."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 3:
        fail(f"--posting {text!r}: write ACCOUNT,AMOUNT,CURRENCY (e.g. processor:stripe,1000,CNY)")
    account, amount, currency = parts
    if not re.fullmatch(r"-?[0-9]{1,19}", amount):
        fail(
            f"--posting {text!r}: the amount {amount!r} is not a whole number of minor units "
            "(fen, cents)"
        )
    return account, int(amount), currency


def _append_and_report(**entry: Any) -> None:
    from giving.ledger.services import append_entry

    session = cli_session()
    try:
        with transaction(session):
            appended = append_entry(session, occurred_at=utcnow(), **entry)
            seq, chain = appended.seq, appended.chain_hash.hex()
    except DomainError as exc:
        fail(exc.message)
    finally:
        session.close()
    click.echo(f"Sealed entry {seq} (chain hash {chain}).")


@ledger_group.command("append", help="Append one entry by hand (corrections, offline payouts).")
@click.option("--campaign", required=True, help="Campaign public id.")
@click.option("--kind", required=True, help="donation, disbursement, refund, ...")
@click.option(
    "--posting",
    "postings",
    multiple=True,
    required=True,
    metavar="ACCOUNT,AMOUNT,CURRENCY",
    help="One per line of the entry; amounts in minor units, debit positive.",
)
@click.option("--memo", default="", help="Public description.")
@click.option("--ref", default=None, help="External reference (makes the command idempotent).")
@click.option("--reverses", type=SEQ, default=None, help="Seq of the entry it undoes.")
@click.option("--evidence", multiple=True, help="SHA-256 hex of an evidence file.")
@with_appcontext
def ledger_append(
    campaign: str,
    kind: str,
    postings: tuple[str, ...],
    memo: str,
    ref: str | None,
    reverses: int | None,
    evidence: tuple[str, ...],
) -> None:
    _append_and_report(
        campaign=campaign,
        kind=kind,
        postings=[_posting(p) for p in postings],
        memo=memo,
        ref=ref,
        reverses=reverses,
        evidence=evidence,
    )


@ledger_group.command("reverse", help="Append the reversal of entry SEQ (exactly negated).")
@click.argument("seq", type=SEQ)
@click.option("--memo", required=True, help="Why it is reversed (public).")
@with_appcontext
def ledger_reverse(seq: int, memo: str) -> None:
    from giving.ledger.models import LedgerEntry

    session = cli_session()
    try:
        original = session.get(LedgerEntry, seq)
        if original is None:
            fail(f"There is no entry {seq} to reverse")
            return
        campaign = original.campaign
        negated = [(p.account, -p.amount, p.currency) for p in original.postings]
    finally:
        session.close()
    _append_and_report(
        campaign=campaign, kind="reversal", postings=negated, memo=memo, reverses=seq
    )


@ledger_group.command("seal", help="Run the batch sequencer: seal entries queued by writers.")
@click.option("--once", is_flag=True, help="Seal what is queued now, then exit.")
@with_appcontext
def ledger_seal(once: bool) -> None:
    import time

    from giving.ledger.sealer import POLL_INTERVAL, seal_queued

    factory = current_app.extensions["giving.sessionmaker"]
    total = 0
    while True:
        with factory() as session, transaction(session):
            sealed = len(seal_queued(session))
        total += sealed
        if once and not sealed:
            break
        if not sealed:
            time.sleep(POLL_INTERVAL)
    click.echo(f"Sealed {total} queued entries.")


# ------------------------------------------------------------------------------ keys


@click.group("keys", help="The Ed25519 key that signs ledger checkpoints.")
def keys_group() -> None:
    pass


@keys_group.command("generate", help="Create a new signing key file (never overwrites one).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (default: GIVING_SIGNING_KEY or the instance folder).",
)
@with_appcontext
def keys_generate(output: Path | None) -> None:
    from giving.ledger.checkpoint import SigningKeyError, generate_signing_key, save_private_key
    from giving.ledger.keys import vkey_text

    settings = current_settings()
    path = output or settings.signing_key_path
    if output is None:
        path.parent.mkdir(parents=True, exist_ok=True)  # the instance folder, on a fresh install
    if path.exists():
        fail(f"{path} already exists; not overwriting a signing key")
    if not path.parent.is_dir():
        fail(f"the folder {path.parent} does not exist")
    key = generate_signing_key()
    try:
        save_private_key(key, path)
    except (SigningKeyError, OSError) as exc:
        fail(str(exc))
    click.echo(f"Wrote a new Ed25519 signing key to {path} (mode 0600).")
    click.echo(f"Public verifier key: {vkey_text(settings, key)}")


@keys_group.command("show", help="Print the public verifier key (vkey) of the signing key.")
@with_appcontext
def keys_show() -> None:
    from giving.ledger.keys import load_signing_key, vkey_text

    settings = current_settings()
    try:
        key = load_signing_key(settings, create=False)
    except DomainError as exc:
        fail(exc.message)
    click.echo(vkey_text(settings, key))


# ------------------------------------------------------------------------------ export


@click.group("export", help="Export public data for independent verification.")
def export_group() -> None:
    pass


@export_group.command("jsonl", help="Write the ledger (or one campaign's part) as JSON lines.")
@click.argument("target", metavar="CAMPAIGN_PUBLIC_ID|all")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="File to write (replaced only when the export is complete).",
)
@click.option(
    "--checkpoint-out",
    type=click.Path(path_type=Path),
    help="Also write the signed checkpoint the export verifies against.",
)
@with_appcontext
def export_jsonl(target: str, output: Path, checkpoint_out: Path | None) -> None:
    from giving.ledger.export import ExportPathError, check_destination, write_export
    from giving.ledger.keys import ledger_origin, load_signing_key, vkey_text
    from giving.ledger.queries import CorruptEntry, campaign_exists
    from giving.ledger.services import latest_checkpoint, make_checkpoint
    from giving.ledger.tree import log_size

    settings = current_settings()
    campaign = None if target == "all" else target
    for path in (output, checkpoint_out):
        if path is not None:
            try:
                check_destination(path)
            except ExportPathError as exc:
                fail(f"cannot write the export: {exc}")
    session = cli_session()
    try:
        if campaign is not None and not campaign_exists(session, campaign):
            fail(f"there is no campaign {campaign!r} (give a campaign public id or 'all')")
        vkey = None
        note = None
        if campaign is not None or checkpoint_out is not None:
            # A campaign's entries are proven against a checkpoint, so it must cover them all.
            key = load_signing_key(settings)
            vkey = vkey_text(settings, key)
            with transaction(session):
                latest = latest_checkpoint(session, signed_as=(ledger_origin(settings), key))
                if latest is None or latest.tree_size != log_size(session):
                    latest = make_checkpoint(session, key, origin=ledger_origin(settings))
                tree_size, note = latest.tree_size, latest.note
        else:
            tree_size = log_size(session)
        with transaction(session):
            count = write_export(session, output, campaign=campaign, tree_size=tree_size)
    except DomainError as exc:
        fail(exc.message)
    except CorruptEntry as exc:
        # Like `ledger verify`: exit 1 for a corrupt ledger, naming the first bad entry.
        click.echo(
            f"FAILED: {exc.message}. Nothing was exported; "
            "run `giving ledger verify` to check the whole ledger.",
            err=True,
        )
        sys.exit(1)
    except ExportPathError as exc:
        fail(f"cannot write the export: {exc}")
    finally:
        session.close()
    if checkpoint_out is not None and note is not None:
        checkpoint_out.write_text(note, encoding="utf-8")
    what = "the whole ledger" if campaign is None else f"campaign {campaign}"
    click.echo(f"Exported {count} entries of {what} (tree size {tree_size}) to {output}.")
    if vkey is not None:
        click.echo(f"Public verifier key: {vkey}")
