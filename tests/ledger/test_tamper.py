"""Tamper evidence: someone with database access drops the triggers and edits the ledger.

Each case commits a real ledger in a scratch database, signs a checkpoint, removes the
append-only triggers, edits rows with plain SQL, and then expects both `giving ledger verify`
and the standalone verifier (on a fresh export) to fail, naming where.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from giving import PROJECT_ROOT
from giving.db import transaction
from giving.ledger.canonical import GENESIS_CHAIN_HASH, LeafRecordError, chain_hash
from giving.ledger.canonical import record_leaf_hash as leaf_hash_of
from giving.ledger.keys import load_signing_key, vkey_text
from giving.ledger.queries import iter_published
from giving.ledger.tree import Frontier
from giving.ledger.verify import LedgerCorrupt, verify_ledger
from tests.conftest import DatabaseFactory
from tests.ledger.support import (
    add_campaign,
    committed_database,
    donate,
    drop_ledger_triggers,
    reverse,
    spend,
)

VERIFIER = PROJECT_ROOT / "tools" / "giving_verify.py"
SIZE = 10


@dataclass
class Scratch:
    """A committed ledger of SIZE entries with one checkpoint, and ways to inspect it."""

    engine: Engine
    factory: sessionmaker[Session]
    runner: FlaskCliRunner
    vkey: str
    tmp: Path

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    def verify(self) -> tuple[int, str]:
        result = self.runner.invoke(args=["ledger", "verify"])
        return result.exit_code, result.output

    def export_and_verify(
        self, tamper_file: Callable[[Path], None] | None = None
    ) -> tuple[int, str]:
        export, checkpoint = self.tmp / "ledger.jsonl", self.tmp / "checkpoint.txt"
        result = self.runner.invoke(
            args=["export", "jsonl", "all", "-o", str(export), "--checkpoint-out", str(checkpoint)]
        )
        assert result.exit_code == 0, result.output
        if tamper_file is not None:
            tamper_file(export)
        done = subprocess.run(
            [
                sys.executable,
                str(VERIFIER),
                "export",
                str(export),
                "--checkpoint",
                str(checkpoint),
                "--key",
                self.vkey,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        return done.returncode, done.stdout + done.stderr


@pytest.fixture
def scratch(
    database_factory: DatabaseFactory, make_app: Callable[..., Flask], tmp_path: Path
) -> Iterator[Scratch]:
    with committed_database(database_factory.fresh()) as (engine, factory):
        with factory() as session, transaction(session):
            school = add_campaign(session, "cmp_school")
            clinic = add_campaign(session, "cmp_clinic")
            gift = donate(session, school, 10_000, ref="ch_1:donation")  # seq 0
            donate(session, clinic, 3_000)  # 1
            spend(session, school, "processor_fee", 60, "processor:stripe")  # 2
            donate(session, school, 5_000)  # 3
            fee = spend(session, school, "platform_fee", 450, "income:platform_fees")  # 4
            spend(session, school, "disbursement", 7_000, "payee:disbursed")  # 5
            reverse(session, fee)  # 6
            spend(session, school, "refund", 1_000, "processor:stripe", reverses=gift.seq)  # 7
            donate(session, clinic, 800)  # 8
            donate(session, school, 1_200)  # 9
        app = make_app(ENGINE=engine, SESSION_FACTORY=factory)
        runner = app.test_cli_runner()
        assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
        settings = app.extensions["giving.settings"]
        vkey = vkey_text(settings, load_signing_key(settings))
        scratch = Scratch(engine, factory, runner, vkey, tmp_path)
        assert scratch.verify()[0] == 0
        assert scratch.export_and_verify()[0] == 0
        drop_ledger_triggers(engine)
        yield scratch


def assert_caught(scratch: Scratch, by_verify: str, by_verifier: str, **export: object) -> None:
    code, output = scratch.verify()
    assert code == 1, output
    assert output.startswith(f"FAILED: {by_verify}"), output
    code, output = scratch.export_and_verify(**export)  # type: ignore[arg-type]
    assert code == 1, output
    assert re.search(by_verifier, output), output


def test_a_changed_amount_is_caught_at_its_seq(scratch: Scratch) -> None:
    scratch.sql("UPDATE ledger_postings SET amount = amount * 2 WHERE entry_seq = 3")

    assert_caught(
        scratch,
        "seq 3: stored leaf hash does not match its contents",
        r"FAIL: seq 3: leaf hash mismatch",
    )


def test_an_amount_changed_on_one_side_only_is_caught_as_unbalanced(scratch: Scratch) -> None:
    scratch.sql("UPDATE ledger_postings SET amount = amount + 100 WHERE entry_seq = 5 AND line = 0")

    code, output = scratch.verify()
    assert code == 1
    assert output.startswith("FAILED: seq 5: postings do not sum to zero per currency: CNY +100")


@pytest.mark.parametrize(
    "args",
    [
        ["export", "jsonl", "all"],
        ["export", "jsonl", "all", "--checkpoint-out", "{tmp}/cp-out.txt"],
        ["export", "jsonl", "cmp_school"],
    ],
)
def test_exporting_an_unbalanced_ledger_names_the_entry_and_writes_nothing(
    scratch: Scratch, args: list[str]
) -> None:
    """An entry that no longer balances cannot be published as a leaf: the export says
    which one, as `ledger verify` does, instead of dying with a traceback."""
    scratch.sql("UPDATE ledger_postings SET amount = amount + 100 WHERE entry_seq = 5 AND line = 0")
    output = scratch.tmp / "unbalanced.jsonl"
    filled = [arg.format(tmp=scratch.tmp) for arg in args]

    result = scratch.runner.invoke(args=[*filled, "-o", str(output)])

    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, LeafRecordError), result.exception
    assert result.output.startswith(
        "FAILED: seq 5: postings do not sum to zero per currency: CNY +100"
    ), result.output
    assert "giving ledger verify" in result.output
    assert not output.exists()
    assert not (scratch.tmp / "cp-out.txt").exists()
    assert list(scratch.tmp.glob(".unbalanced.jsonl*")) == []


def test_a_deleted_entry_is_caught_as_a_gap(scratch: Scratch) -> None:
    scratch.sql("DELETE FROM ledger_postings WHERE entry_seq = 3")
    scratch.sql("DELETE FROM ledger_entries WHERE seq = 3")

    assert_caught(scratch, "seq 3: missing", r"FAIL: seq 3: missing \(gap\)")


def test_two_swapped_entries_are_caught_at_the_first(scratch: Scratch) -> None:
    with scratch.engine.begin() as conn:  # one transaction: the postings move with their entry
        for table, column in (("ledger_entries", "seq"), ("ledger_postings", "entry_seq")):
            conn.exec_driver_sql(f"UPDATE {table} SET {column} = 1000 WHERE {column} = 2")
            conn.exec_driver_sql(f"UPDATE {table} SET {column} = 2 WHERE {column} = 3")
            conn.exec_driver_sql(f"UPDATE {table} SET {column} = 3 WHERE {column} = 1000")

    assert_caught(
        scratch,
        "seq 2: stored leaf hash does not match its contents",
        r"FAIL: seq 2: leaf hash mismatch",
    )


def test_an_altered_checkpoint_note_is_caught(scratch: Scratch) -> None:
    scratch.sql(
        "UPDATE ledger_checkpoints SET note = :prefix || substr(note, length(:prefix) + 1)",
        prefix="forged.example/ledger",
    )

    code, output = scratch.verify()
    assert code == 1
    assert re.match(r"FAILED: checkpoint \d+: ", output), output
    code, output = scratch.export_and_verify()
    assert code == 1
    assert "checkpoint: bad signature" in output or "no signature" in output, output


def test_a_checkpoint_whose_stored_root_was_replaced_is_caught(scratch: Scratch) -> None:
    scratch.sql("UPDATE ledger_checkpoints SET root = :root", root=b"\x01" * 32)

    code, output = scratch.verify()
    assert code == 1
    assert re.match(r"FAILED: checkpoint \d+: root does not match .* tree size 10", output), output


def test_a_tampered_export_file_is_caught_by_the_standalone_verifier(scratch: Scratch) -> None:
    def raise_a_gift(export: Path) -> None:
        lines = export.read_text().splitlines()
        record = json.loads(lines[3])
        for posting in record["leaf"]["postings"]:
            posting["amount"] *= 10
        lines[3] = json.dumps(record)
        export.write_text("\n".join(lines) + "\n")

    code, output = scratch.export_and_verify(tamper_file=raise_a_gift)

    assert code == 1
    assert "FAIL: seq 3: leaf hash mismatch" in output


def test_a_tampered_tree_node_is_caught(scratch: Scratch) -> None:
    scratch.sql(
        "UPDATE ledger_nodes SET hash = :h WHERE tree_size = 8 AND height = 2", h=b"\x02" * 32
    )

    code, output = scratch.verify()
    assert code == 1
    assert output.startswith("FAILED: seq 7: stored tree node (8, 2) does not match the entries")


def test_a_consistent_rewrite_of_history_is_caught_by_the_signed_checkpoint(
    scratch: Scratch,
) -> None:
    """An intruder who recomputes every hash and node still cannot forge the signature."""
    scratch.sql("UPDATE ledger_postings SET amount = amount * 2 WHERE entry_seq = 3")
    with scratch.factory() as session, transaction(session):
        frontier, previous = Frontier(0), GENESIS_CHAIN_HASH
        nodes = []
        for entry in list(iter_published(session)):
            leaf = leaf_hash_of(entry.leaf)
            chained = chain_hash(previous, leaf)
            session.execute(
                sa.text(
                    "UPDATE ledger_entries SET leaf_hash = :leaf, chain_hash = :chain, "
                    "prev_chain_hash = :prev WHERE seq = :seq"
                ),
                {"leaf": leaf, "chain": chained, "prev": previous, "seq": entry.seq},
            )
            nodes += frontier.append(leaf)
            previous = chained
        session.execute(sa.text("DELETE FROM ledger_nodes"))
        for node in nodes:
            session.execute(
                sa.text("INSERT INTO ledger_nodes VALUES (:s, :h, :hash)"),
                {"s": node.tree_size, "h": node.height, "hash": node.hash},
            )

    code, output = scratch.verify()
    assert code == 1
    assert re.match(r"FAILED: checkpoint \d+: root does not match .* tree size 10", output), output
    code, output = scratch.export_and_verify()
    assert code == 1
    assert "root mismatch at tree size 10" in output


def test_worker_processes_name_the_same_first_bad_seq(scratch: Scratch) -> None:
    scratch.sql("UPDATE ledger_postings SET amount = amount * 3 WHERE entry_seq IN (3, 8)")

    with scratch.factory() as session, pytest.raises(LedgerCorrupt) as caught:
        verify_ledger(session, scratch.vkey, workers=2)

    assert caught.value.message == "seq 3: stored leaf hash does not match its contents"


NODE = b"\x02" * 32
READER_CASES = {
    "amount doubled": ["UPDATE ledger_postings SET amount = amount * 2 WHERE entry_seq = 3"],
    "unbalanced": ["UPDATE ledger_postings SET amount = amount + 100 WHERE entry_seq = 5"],
    "entry deleted": [
        "DELETE FROM ledger_postings WHERE entry_seq = 3",
        "DELETE FROM ledger_entries WHERE seq = 3",
    ],
    "postings deleted": ["DELETE FROM ledger_postings WHERE entry_seq = 4"],
    "posting added": [
        "INSERT INTO ledger_postings VALUES (4, 7, 'campaign:cmp_school:fund', 5, 'CNY')"
    ],
    "orphans around": [
        "ALTER TABLE ledger_postings DROP CONSTRAINT fk_ledger_postings_entry_seq_ledger_entries",
        "INSERT INTO ledger_postings VALUES (-1, 0, 'processor:stripe', 5, 'CNY')",
        "INSERT INTO ledger_postings VALUES (50, 0, 'processor:stripe', 5, 'CNY')",
    ],
    "node changed": ["UPDATE ledger_nodes SET hash = :node WHERE tree_size = 8 AND height = 2"],
    "node deleted": ["DELETE FROM ledger_nodes WHERE tree_size = 4 AND height = 2"],
    "stray node": ["INSERT INTO ledger_nodes VALUES (5, 1, :node)"],
    "node too high": ["INSERT INTO ledger_nodes VALUES (8, 4, :node)"],
    "node beyond the end": ["INSERT INTO ledger_nodes VALUES (12, 1, :node)"],
    "leaf hash": ["UPDATE ledger_entries SET leaf_hash = :node WHERE seq = 6"],
    "chain hash": ["UPDATE ledger_entries SET chain_hash = :node WHERE seq = 6"],
    "previous chain hash": ["UPDATE ledger_entries SET prev_chain_hash = :node WHERE seq = 0"],
    "kind": ["UPDATE ledger_entries SET kind = 'Donation' WHERE seq = 1"],
    "memo": ["UPDATE ledger_entries SET memo = '学习用品 \"quoted\"' WHERE seq = 2"],
    "memo null": [
        "ALTER TABLE ledger_entries ALTER COLUMN memo DROP NOT NULL",
        "UPDATE ledger_entries SET memo = NULL WHERE seq = 2",
    ],
    "campaign null": [
        "ALTER TABLE ledger_entries ALTER COLUMN campaign DROP NOT NULL",
        "UPDATE ledger_entries SET campaign = NULL WHERE seq = 2",
    ],
    "a microsecond later": [
        "UPDATE ledger_entries SET occurred_at = occurred_at + interval '1 microsecond' "
        "WHERE seq = 2"
    ],
    "year 999": ["UPDATE ledger_entries SET occurred_at = '0999-05-01 08:00:00+00' WHERE seq = 2"],
    "evidence an object": [
        "UPDATE ledger_entries SET evidence = :digest_object WHERE seq = 5",
    ],
    "evidence not digests": ["UPDATE ledger_entries SET evidence = '[1, 2]' WHERE seq = 5"],
    "evidence not json": ["UPDATE ledger_entries SET evidence = '\"abc\"' WHERE seq = 5"],
    "commitment upper case": [
        "UPDATE ledger_entries SET donor_commitment = repeat('A', 64) WHERE seq = 0"
    ],
    "reverses itself": [
        "ALTER TABLE ledger_entries DROP CONSTRAINT ck_ledger_entries_reverses_earlier",
        "UPDATE ledger_entries SET reverses = 7 WHERE seq = 7",
    ],
    "unsafe amounts": [
        "UPDATE ledger_postings SET amount = sign(amount) * 9007199254740993 WHERE entry_seq = 8"
    ],
    "currency lower case": [
        "ALTER TABLE ledger_postings DROP CONSTRAINT ck_ledger_postings_currency_known",
        "UPDATE ledger_postings SET currency = 'cny' WHERE entry_seq = 8",
    ],
    "empty account": ["UPDATE ledger_postings SET account = '' WHERE entry_seq = 8 AND line = 0"],
    "checkpoint root": ["UPDATE ledger_checkpoints SET root = :node"],
    "untouched": [],
}


@pytest.mark.postgres_only
@pytest.mark.parametrize("statements", READER_CASES.values(), ids=READER_CASES.keys())
def test_the_postgresql_reader_reaches_the_generic_readers_verdict(
    scratch: Scratch, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same first problem, same words, also when every batch holds only two rows."""
    digest_object = '{"' + "a" * 64 + '": 1}'
    with scratch.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), {"node": NODE, "digest_object": digest_object})

    def verdict(fast: bool) -> str:
        with scratch.factory() as session:
            try:
                return verify_ledger(session, scratch.vkey, fast=fast).summary()
            except LedgerCorrupt as exc:
                assert session.scalar(sa.text("SELECT 1")) == 1  # the session is still usable
                return exc.message

    generic = verdict(fast=False)
    assert verdict(fast=True) == generic
    monkeypatch.setattr("giving.ledger.verify_postgres.BATCH", 2)
    monkeypatch.setattr("giving.ledger.verify_postgres.READ_AHEAD", 1)
    assert verdict(fast=True) == generic
    assert generic.startswith("OK") == (not statements)
