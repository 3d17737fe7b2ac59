"""tools/giving_verify.py run as an auditor would: on the published vectors, then on forgeries."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from giving.ledger.canonical import canonical_json
from giving.ledger.checkpoint import verify_checkpoint
from giving.ledger.merkle import (
    TreeReader,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

REPO = Path(__file__).resolve().parents[2]
VERIFIER = REPO / "tools" / "giving_verify.py"
VECTORS = json.loads((REPO / "tests" / "vectors" / "ledger_vectors.json").read_text("utf-8"))


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(*args: str | Path) -> Result:
    completed = subprocess.run(
        [sys.executable, str(VERIFIER), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=60,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


@dataclass
class Files:
    ledger: Path
    campaign: Path
    checkpoint: Path
    old_checkpoint: Path
    key: Path
    dir: Path

    def write_ledger(self, lines: list[str], name: str = "tampered.jsonl") -> Path:
        path = self.dir / name
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path


@pytest.fixture
def files(tmp_path: Path) -> Files:
    written = Files(
        ledger=tmp_path / "ledger.jsonl",
        campaign=tmp_path / "campaign.jsonl",
        checkpoint=tmp_path / "checkpoint-7.txt",
        old_checkpoint=tmp_path / "checkpoint-3.txt",
        key=tmp_path / "giving.vkey",
        dir=tmp_path,
    )
    written.write_ledger(VECTORS["export_lines"], written.ledger.name)
    written.write_ledger(VECTORS["campaign_export"]["lines"], written.campaign.name)
    written.checkpoint.write_text(VECTORS["checkpoints"]["7"], encoding="utf-8")
    written.old_checkpoint.write_text(VECTORS["checkpoints"]["3"], encoding="utf-8")
    written.key.write_text(VECTORS["test_key"]["vkey"] + "\n", encoding="utf-8")
    return written


def lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in VECTORS["export_lines"]]


def dump(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(record, ensure_ascii=False) for record in records]


def rehash_from(records: list[dict[str, Any]], start: int) -> None:
    """Recompute leaf and chain hashes from `start` on, as a careful forger would."""
    previous = bytes.fromhex(records[start - 1]["chain_hash"]) if start else bytes(32)
    for record in records[start:]:
        computed = leaf_hash(canonical_json(record["leaf"]))
        record["leaf_hash"] = computed.hex()
        previous = hashlib.sha256(previous + computed).digest()
        record["chain_hash"] = previous.hex()


def export(files: Files, ledger: Path, *extra: str | Path) -> Result:
    return run("export", ledger, "--checkpoint", files.checkpoint, "--key", files.key, *extra)


# --------------------------------------------------------------------------- the vectors


def test_vectors_json_and_document_are_current() -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO / "tools" / "make_ledger_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_vectors_agree_with_the_library() -> None:
    hashes = [bytes.fromhex(entry["leaf_hash"]) for entry in VECTORS["entries"]]
    tree = TreeReader.from_leaf_hashes(hashes)
    for size, root in VECTORS["roots"].items():
        assert tree.root(int(size)).hex() == root
    for size, text in VECTORS["checkpoints"].items():
        checkpoint = verify_checkpoint(text, VECTORS["test_key"]["vkey"], origin=VECTORS["origin"])
        assert checkpoint.size == int(size)
        assert checkpoint.root_hash.hex() == VECTORS["roots"][size]
    inc, con = VECTORS["inclusion"], VECTORS["consistency"]
    assert verify_inclusion(
        bytes.fromhex(inc["leaf_hash"]),
        inc["index"],
        inc["tree_size"],
        [bytes.fromhex(p) for p in inc["proof"]],
        bytes.fromhex(inc["root"]),
    )
    assert verify_consistency(
        con["old_size"],
        con["new_size"],
        bytes.fromhex(con["old_root"]),
        bytes.fromhex(con["new_root"]),
        [bytes.fromhex(p) for p in con["proof"]],
    )


# --------------------------------------------------------------------------- honest inputs


def test_full_export_verifies_against_the_signed_checkpoint(files: Files) -> None:
    result = export(files, files.ledger, "--origin", VECTORS["origin"])
    assert result.code == 0, result.err
    assert "OK: 7 entries verified" in result.out


def test_older_checkpoint_covers_a_prefix_and_says_so(files: Files) -> None:
    result = run("export", files.ledger, "--checkpoint", files.old_checkpoint, "--key", files.key)
    assert result.code == 0, result.err
    assert "4 later entries are chained but not covered" in result.out


def test_key_can_be_given_as_vkey_text(files: Files) -> None:
    result = run(
        "export",
        files.ledger,
        "--checkpoint",
        files.checkpoint,
        "--key",
        VECTORS["test_key"]["vkey"],
    )
    assert result.code == 0, result.err


def test_campaign_export_verifies_by_inclusion_proofs(files: Files) -> None:
    campaign = VECTORS["campaign_export"]["campaign"]
    result = export(files, files.campaign, "--campaign-export", "--campaign", campaign)
    assert result.code == 0, result.err
    assert "OK: 6 entries of campaign" in result.out


def test_campaign_export_is_recognised_without_the_flag(files: Files) -> None:
    # As the README's command is run on the export the transparency page offers.
    campaign = VECTORS["campaign_export"]["campaign"]
    result = export(files, files.campaign)
    assert result.code == 0, result.err
    assert f"OK: 6 entries of campaign '{campaign}'" in result.out
    assert "read as a per-campaign export (its lines carry inclusion proofs)" in result.out
    pinned = export(files, files.campaign, "--campaign", campaign)
    assert pinned.code == 0, pinned.err
    other = export(files, files.campaign, "--campaign", "cmp_01HZX4B2")
    assert other.code == 1
    assert "belongs to campaign" in other.err


def test_full_export_is_recognised_and_says_so(files: Files) -> None:
    result = export(files, files.ledger)
    assert result.code == 0, result.err
    assert result.out.startswith("OK: 7 entries verified")
    assert "read as a full export (its lines carry no inclusion proofs)" in result.out


def test_a_recognised_campaign_export_that_fails_says_how_it_was_read(files: Files) -> None:
    records = [json.loads(line) for line in VECTORS["campaign_export"]["lines"]]
    records[3]["inclusion_proof"][1] = "00" * 32
    result = export(files, files.write_ledger(dump(records)))
    assert result.code == 1
    assert f"seq {records[3]['seq']}: inclusion proof does not match" in result.err
    assert "read as a per-campaign export" in result.err


def test_an_export_mixing_both_kinds_of_line_is_refused(files: Files) -> None:
    records = lines()
    records[3]["tree_size"] = 7
    records[3]["inclusion_proof"] = []
    result = export(files, files.write_ledger(dump(records)))
    assert result.code == 1
    assert "seq 3: carries an inclusion proof, unlike the first line" in result.err


def test_the_readme_commands_verify_both_kinds_of_export(files: Files) -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    commands = re.findall(r"^python tools/giving_verify\.py export (.+)$", readme, re.MULTILINE)
    given = {
        "ledger.jsonl": files.ledger,
        "CAMPAIGN-ledger.jsonl": files.campaign,
        "cp.txt": files.checkpoint,
        "CAMPAIGN-checkpoint.txt": files.checkpoint,
        "vkey.txt": files.key,
    }
    outputs = []
    for command in commands:
        words = command.replace("[--campaign CAMPAIGN]", "").split()
        result = run("export", *[given.get(word, word) for word in words])
        assert result.code == 0, (command, result.err)
        outputs.append(result.out)
    assert len(outputs) == 2
    assert "read as a full export" in outputs[0]
    assert "read as a per-campaign export" in outputs[1]


def test_published_inclusion_proof_verifies_by_root_and_by_checkpoint(files: Files) -> None:
    inc = VECTORS["inclusion"]
    proof = ",".join(inc["proof"])
    by_root = run(
        "inclusion",
        "--leaf-hash",
        inc["leaf_hash"],
        "--index",
        str(inc["index"]),
        "--size",
        str(inc["tree_size"]),
        "--proof",
        proof,
        "--root",
        inc["root"],
    )
    assert by_root.code == 0, by_root.err
    leaf_file = files.dir / "leaf.json"
    leaf_file.write_text(json.dumps(VECTORS["entries"][inc["index"]]["leaf"]), encoding="utf-8")
    by_checkpoint = run(
        "inclusion",
        "--leaf",
        leaf_file,
        "--index",
        str(inc["index"]),
        "--proof",
        proof,
        "--checkpoint",
        files.checkpoint,
        "--key",
        files.key,
    )
    assert by_checkpoint.code == 0, by_checkpoint.err


def test_published_consistency_proof_verifies_by_roots_and_by_checkpoints(files: Files) -> None:
    con = VECTORS["consistency"]
    proof = ",".join(con["proof"])
    by_roots = run(
        "consistency",
        "--old-size",
        str(con["old_size"]),
        "--new-size",
        str(con["new_size"]),
        "--old-root",
        con["old_root"],
        "--new-root",
        con["new_root"],
        "--proof",
        proof,
    )
    assert by_roots.code == 0, by_roots.err
    by_checkpoints = run(
        "consistency",
        "--old-checkpoint",
        files.old_checkpoint,
        "--new-checkpoint",
        files.checkpoint,
        "--key",
        files.key,
        "--proof",
        proof,
    )
    assert by_checkpoints.code == 0, by_checkpoints.err


# --------------------------------------------------------------------------- forgeries


def test_changed_amount_is_a_leaf_hash_mismatch_at_that_seq(files: Files) -> None:
    records = lines()
    records[4]["leaf"]["postings"][0]["amount"] = 50000
    result = export(files, files.write_ledger(dump(records)))
    assert result.code == 1
    assert "seq 4: leaf hash mismatch" in result.err


def test_balanced_change_with_recomputed_hashes_is_caught_by_the_signed_root(
    files: Files,
) -> None:
    records = lines()
    records[4]["leaf"]["postings"][0]["amount"] = 50000  # fund debited more ...
    records[4]["leaf"]["postings"][1]["amount"] = -50000  # ... and paid out, so it balances
    rehash_from(records, 4)
    result = export(files, files.write_ledger(dump(records)))
    assert result.code == 1
    assert "root mismatch at tree size 7" in result.err


def test_unbalanced_entry_with_recomputed_hashes_is_named(files: Files) -> None:
    records = lines()
    records[2]["leaf"]["postings"][1]["amount"] = 2400
    rehash_from(records, 2)
    result = export(files, files.write_ledger(dump(records)))
    assert result.code == 1
    assert "seq 2: postings do not balance (USD -100)" in result.err


def test_deleted_line_is_a_gap(files: Files) -> None:
    exported = list(VECTORS["export_lines"])
    del exported[3]
    result = export(files, files.write_ledger(exported))
    assert result.code == 1
    assert "seq 3: missing (gap)" in result.err


def test_deleted_last_line_falls_short_of_the_checkpoint(files: Files) -> None:
    result = export(files, files.write_ledger(VECTORS["export_lines"][:-1]))
    assert result.code == 1
    assert "seq 6: missing (export ends before checkpoint size 7)" in result.err


def test_swapped_lines_are_caught_at_the_first_out_of_place_seq(files: Files) -> None:
    exported = list(VECTORS["export_lines"])
    exported[2], exported[3] = exported[3], exported[2]
    result = export(files, files.write_ledger(exported))
    assert result.code == 1
    assert "seq 2: missing (gap)" in result.err


def test_swapped_leaves_with_renumbered_seqs_break_the_chain_or_root(files: Files) -> None:
    records = lines()
    records[2]["leaf"], records[3]["leaf"] = records[3]["leaf"], records[2]["leaf"]
    records[2]["leaf"]["seq"], records[3]["leaf"]["seq"] = 2, 3
    rehash_from(records, 2)
    result = export(files, files.write_ledger(dump(records)))
    assert result.code == 1
    assert "root mismatch at tree size 7" in result.err


def test_duplicated_line_is_named(files: Files) -> None:
    exported = list(VECTORS["export_lines"])
    exported.insert(4, exported[3])
    result = export(files, files.write_ledger(exported))
    assert result.code == 1
    assert "seq 3: duplicate or out of order" in result.err


def test_altered_chain_hash_is_named(files: Files) -> None:
    records = lines()
    records[5]["chain_hash"] = "00" * 32
    result = export(files, files.write_ledger(dump(records)))
    assert result.code == 1
    assert "seq 5: chain hash mismatch" in result.err


def test_float_amount_is_refused_not_rounded(files: Files) -> None:
    exported = list(VECTORS["export_lines"])
    exported[1] = exported[1].replace('"amount":60,', '"amount":60.0,')
    result = export(files, files.write_ledger(exported))
    assert result.code == 1
    assert "line 2: not valid JSON" in result.err


def test_altered_checkpoint_is_a_bad_signature(files: Files) -> None:
    forged = VECTORS["checkpoints"]["7"].replace("\n7\n", "\n6\n", 1)
    files.checkpoint.write_text(forged, encoding="utf-8")
    result = export(files, files.ledger)
    assert result.code == 1
    assert "checkpoint: bad signature" in result.err


def test_checkpoint_checked_with_another_key_is_refused(files: Files) -> None:
    other = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    result = run("export", files.ledger, "--checkpoint", files.checkpoint, "--key", other)
    assert result.code == 1
    assert "checkpoint: no signature by key PeterNeumann" in result.err


def test_campaign_export_with_a_tampered_proof_is_named(files: Files) -> None:
    records = [json.loads(line) for line in VECTORS["campaign_export"]["lines"]]
    records[3]["inclusion_proof"][1] = "00" * 32
    result = export(files, files.write_ledger(dump(records)), "--campaign-export")
    assert result.code == 1
    assert f"seq {records[3]['seq']}: inclusion proof does not match" in result.err


def test_campaign_export_with_another_campaigns_entry_is_named(files: Files) -> None:
    records = [json.loads(line) for line in VECTORS["campaign_export"]["lines"]]
    foreign = lines()[2]
    foreign["tree_size"] = 7
    foreign["inclusion_proof"] = [
        h.hex()
        for h in TreeReader.from_leaf_hashes(
            [bytes.fromhex(e["leaf_hash"]) for e in VECTORS["entries"]]
        ).inclusion_proof(2, 7)
    ]
    records.insert(2, foreign)
    result = export(files, files.write_ledger(dump(records)), "--campaign-export")
    assert result.code == 1
    assert "seq 2: belongs to campaign 'cmp_01HZX4B2'" in result.err


def test_wrong_inclusion_index_fails_naming_it(files: Files) -> None:
    inc = VECTORS["inclusion"]
    result = run(
        "inclusion",
        "--leaf-hash",
        inc["leaf_hash"],
        "--index",
        "3",
        "--proof",
        ",".join(inc["proof"]),
        "--checkpoint",
        files.checkpoint,
        "--key",
        files.key,
    )
    assert result.code == 1
    assert "seq 3: inclusion proof does not match" in result.err


def test_consistency_with_swapped_checkpoints_fails(files: Files) -> None:
    result = run(
        "consistency",
        "--old-checkpoint",
        files.checkpoint,
        "--new-checkpoint",
        files.old_checkpoint,
        "--key",
        files.key,
        "--proof",
        ",".join(VECTORS["consistency"]["proof"]),
    )
    assert result.code == 1
    assert "not proven a prefix" in result.err


# --------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    "args",
    [
        ("export", "missing.jsonl", "--checkpoint", "CHECKPOINT", "--key", "KEY"),
        ("export", "LEDGER", "--checkpoint", "missing.txt", "--key", "KEY"),
        ("export", "LEDGER", "--checkpoint", "CHECKPOINT", "--key", "not+a+key"),
        ("inclusion", "--leaf-hash", "xyz", "--index", "0", "--size", "1", "--root", "00"),
        ("inclusion", "--leaf-hash", "00" * 32, "--index", "0"),
        ("consistency", "--old-size", "1"),
        ("export",),
        (),
    ],
)
def test_usage_errors_exit_2_with_a_message(files: Files, args: tuple[str, ...]) -> None:
    substitutions = {"LEDGER": files.ledger, "CHECKPOINT": files.checkpoint, "KEY": files.key}
    result = run(*(substitutions.get(arg, arg) for arg in args))
    assert result.code == 2
    assert "error" in result.err
