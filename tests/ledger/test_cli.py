"""`giving ledger verify` and `giving export jsonl`, end to end through the standalone verifier."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from giving import PROJECT_ROOT
from giving.ledger.keys import load_signing_key, vkey_text
from giving.ledger.models import CampaignTotals
from giving.ledger.tree import LedgerTree
from tests.ledger.support import add_campaign, count_entries, donate, reverse, spend

VERIFIER = PROJECT_ROOT / "tools" / "giving_verify.py"


def run_verifier(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VERIFIER), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def campaigns(session: Session) -> tuple[str, str]:
    """Two campaigns with interleaved entries, so a campaign's seqs are not contiguous."""
    school = add_campaign(session, "cmp_school")
    clinic = add_campaign(session, "cmp_clinic", currency="USD")
    gift = donate(session, school, 10_000, ref="ch_1:donation")
    donate(session, clinic, 2_500, currency="USD", ref="ch_2:donation")
    spend(session, school, "processor_fee", 60, "processor:stripe", ref="ch_1:fee")
    fee = spend(session, school, "platform_fee", 300, "income:platform_fees")
    spend(session, school, "disbursement", 5_000, "payee:disbursed")
    reverse(session, fee)
    spend(session, school, "refund", 1_000, "processor:stripe", reverses=gift.seq)
    donate(session, clinic, 700, currency="USD")
    return school, clinic


def test_verify_reports_ok_with_counts_and_root(
    runner: FlaskCliRunner, session: Session, campaigns: tuple[str, str]
) -> None:
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0

    result = runner.invoke(args=["ledger", "verify"])

    assert result.exit_code == 0, result.output
    root = LedgerTree(session).root().hex()
    assert result.output.splitlines() == [
        f"OK: 8 entries, 1 checkpoints, root {root}",
        "OK: figures of 2 campaigns, 3 gifts and 0 donors match the entries",
    ]


def test_verify_of_an_empty_ledger_is_ok(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["ledger", "verify"])

    assert result.exit_code == 0
    assert result.output.startswith("OK: 0 entries, 0 checkpoints, root e3b0c442")


def test_verify_against_a_different_published_key_fails_on_the_checkpoint(
    runner: FlaskCliRunner, campaigns: tuple[str, str], tmp_path: Path
) -> None:
    runner.invoke(args=["ledger", "checkpoint"])
    other = runner.invoke(args=["keys", "generate", "-o", str(tmp_path / "other.pem")])
    other_vkey = other.output.strip().splitlines()[-1].removeprefix("Public verifier key: ")

    result = runner.invoke(args=["ledger", "verify", "--key", other_vkey])

    assert result.exit_code == 1
    assert re.match(r"FAILED: checkpoint \d+: .*no signature by key", result.output)


def test_verify_with_a_malformed_key_is_a_usage_error(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["ledger", "verify", "--key", "nobody+zz+AAAA"])

    assert result.exit_code == 2
    assert "--key" in result.output


def test_full_export_verifies_with_the_standalone_verifier(
    runner: FlaskCliRunner, app: Flask, campaigns: tuple[str, str], tmp_path: Path
) -> None:
    export, checkpoint = tmp_path / "ledger.jsonl", tmp_path / "checkpoint.txt"

    result = runner.invoke(
        args=["export", "jsonl", "all", "-o", str(export), "--checkpoint-out", str(checkpoint)]
    )

    assert result.exit_code == 0, result.output
    assert "Exported 8 entries of the whole ledger (tree size 8)" in result.output
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [line["seq"] for line in lines] == list(range(8))
    assert set(lines[0]) == {"seq", "leaf", "leaf_hash", "chain_hash"}
    settings = app.extensions["giving.settings"]
    vkey = vkey_text(settings, load_signing_key(settings))

    verified = run_verifier("export", export, "--checkpoint", checkpoint, "--key", vkey)

    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK: 8 entries verified")


def test_a_campaign_export_carries_inclusion_proofs_that_verify(
    runner: FlaskCliRunner, app: Flask, campaigns: tuple[str, str], tmp_path: Path
) -> None:
    school, _ = campaigns
    export, checkpoint = tmp_path / "school.jsonl", tmp_path / "checkpoint.txt"

    result = runner.invoke(
        args=["export", "jsonl", school, "-o", str(export), "--checkpoint-out", str(checkpoint)]
    )

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [0, 2, 3, 4, 5, 6]
    assert all(line["tree_size"] == 8 and line["inclusion_proof"] for line in lines)
    settings = app.extensions["giving.settings"]
    vkey = vkey_text(settings, load_signing_key(settings))

    verified = run_verifier(
        "export",
        export,
        "--campaign-export",
        "--campaign",
        school,
        "--checkpoint",
        checkpoint,
        "--key",
        vkey,
    )

    assert verified.returncode == 0, verified.stderr
    assert "6 entries of campaign 'cmp_school'" in verified.stdout
    # The same file without the flag, as the README shows it: recognised by its proofs.
    recognised = run_verifier("export", export, "--checkpoint", checkpoint, "--key", vkey)
    assert recognised.returncode == 0, recognised.stderr
    assert "6 entries of campaign 'cmp_school'" in recognised.stdout
    assert "read as a per-campaign export" in recognised.stdout


def test_exports_are_reproducible_byte_for_byte(
    runner: FlaskCliRunner, campaigns: tuple[str, str], tmp_path: Path
) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    runner.invoke(args=["export", "jsonl", "all", "-o", str(first)])
    runner.invoke(args=["export", "jsonl", "all", "-o", str(second)])

    assert first.read_bytes() == second.read_bytes()


def test_exporting_an_unknown_campaign_is_a_usage_error_and_writes_nothing(
    runner: FlaskCliRunner, campaigns: tuple[str, str], tmp_path: Path
) -> None:
    export = tmp_path / "x.jsonl"

    result = runner.invoke(args=["export", "jsonl", "cmp_nowhere", "-o", str(export)])

    assert result.exit_code == 2
    assert "there is no campaign 'cmp_nowhere'" in result.output
    assert not export.exists()
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("where", ["missing-folder", "directory", "under-a-file"])
def test_an_unwritable_destination_is_a_usage_error_and_writes_nothing(
    runner: FlaskCliRunner, campaigns: tuple[str, str], tmp_path: Path, where: str
) -> None:
    target = {
        "missing-folder": tmp_path / "missing" / "x.jsonl",
        "directory": tmp_path,
        "under-a-file": tmp_path / "notes.txt" / "x.jsonl",
    }[where]
    (tmp_path / "notes.txt").write_text("not a folder")

    result = runner.invoke(args=["export", "jsonl", "all", "-o", str(target)])

    assert result.exit_code == 2
    assert "cannot write the export" in result.output
    assert not target.is_file()


def test_export_needs_a_target(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["export", "jsonl", "-o", str(tmp_path / "x.jsonl")])

    assert result.exit_code == 2


# ------------------------------------------------------------------------------ by hand


def test_an_entry_appended_by_hand_is_sealed(
    runner: FlaskCliRunner, session: Session, campaigns: tuple[str, str]
) -> None:
    result = runner.invoke(
        args=[
            "ledger",
            "append",
            "--campaign",
            "cmp_school",
            "--kind",
            "disbursement",
            "--posting",
            "campaign:cmp_school:fund,1000,CNY",
            "--posting",
            "payee:disbursed,-1000,CNY",
            "--memo",
            "Paid the bookshop in cash",
            "--ref",
            "offline:1",
        ]
    )

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Sealed entry 8 ")
    assert count_entries(session) == 9


@pytest.mark.parametrize(
    ("postings", "message"),
    [
        pytest.param(
            ["processor:stripe,1000,CNY", "campaign:cmp_school:fund,-999,CNY"],
            "do not balance",
            id="unbalanced",
        ),
        pytest.param(
            ["processor:stripe,10.5,CNY", "campaign:cmp_school:fund,-10.5,CNY"],
            "not a whole number of minor units",
            id="float",
        ),
        pytest.param(
            ["processor:stripe,1000,XYZ", "campaign:cmp_school:fund,-1000,XYZ"],
            "Unknown currency 'XYZ'",
            id="currency",
        ),
        pytest.param(
            ["processor:bank,1000,CNY", "campaign:cmp_school:fund,-1000,CNY"],
            "Unknown account 'processor:bank'",
            id="account",
        ),
        pytest.param(
            ["processor:stripe 1000 CNY"], "write ACCOUNT,AMOUNT,CURRENCY", id="malformed"
        ),
    ],
)
def test_bad_entries_by_hand_exit_2_and_write_nothing(
    runner: FlaskCliRunner,
    session: Session,
    campaigns: tuple[str, str],
    postings: list[str],
    message: str,
) -> None:
    args = ["ledger", "append", "--campaign", "cmp_school", "--kind", "donation"]
    for posting in postings:
        args += ["--posting", posting]

    result = runner.invoke(args=args)

    assert result.exit_code == 2
    assert message in result.output
    assert count_entries(session) == 8


def test_reversing_by_hand_once_works_and_twice_is_refused(
    runner: FlaskCliRunner, session: Session, campaigns: tuple[str, str]
) -> None:
    first = runner.invoke(args=["ledger", "reverse", "7", "--memo", "entered twice"])
    again = runner.invoke(args=["ledger", "reverse", "7", "--memo", "entered twice"])

    assert first.exit_code == 0, first.output
    assert again.exit_code == 2
    assert "Entry 7 is already reversed (by entry 8)" in again.output
    assert count_entries(session) == 9


def test_reversing_an_unknown_entry_by_hand_is_refused(
    runner: FlaskCliRunner, session: Session, campaigns: tuple[str, str]
) -> None:
    result = runner.invoke(args=["ledger", "reverse", "42", "--memo", "typo"])

    assert result.exit_code == 2
    assert "There is no entry 42 to reverse" in result.output
    assert count_entries(session) == 8


@pytest.mark.parametrize(
    "args",
    [
        ["ledger", "reverse", "99999999999999999999", "--memo", "typo"],
        ["ledger", "reverse", "9223372036854775808", "--memo", "typo"],
        [
            "ledger", "append", "--campaign", "cmp_school", "--kind", "refund",
            "--reverses", "99999999999999999999",
            "--posting", "campaign:cmp_school:fund,100,CNY",
            "--posting", "processor:stripe,-100,CNY",
        ],
    ],
)  # fmt: skip
def test_a_seq_no_ledger_can_hold_is_a_usage_error(
    runner: FlaskCliRunner, session: Session, campaigns: tuple[str, str], args: list[str]
) -> None:
    """A seq beyond 64 bits used to reach the database and end in an OverflowError."""
    result = runner.invoke(args=args)

    assert result.exit_code == 2, result.output
    assert "is not in the range" in result.output
    assert count_entries(session) == 8


def test_verify_checks_the_derived_figures_and_fails_on_a_changed_total(
    session: Session, campaigns: tuple[str, str], runner: FlaskCliRunner
) -> None:
    school, _ = campaigns
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "figures of 2 campaigns, 3 gifts" in result.output
    session.execute(
        sa.update(CampaignTotals)
        .where(CampaignTotals.campaign == school)
        .values(gross_raised=CampaignTotals.gross_raised + 100)
    )
    session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"ledger_campaign_totals {school} CNY gross_raised is 10100" in result.output
    # The chain alone still verifies; the rebuild mends the figures.
    assert runner.invoke(args=["ledger", "verify", "--no-figures"]).exit_code == 0
    rebuilt = runner.invoke(args=["ledger", "rebuild-figures"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
