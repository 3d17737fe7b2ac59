#!/usr/bin/env python3
"""Generate the worked test vectors of docs/ledger-format.md from the real ledger code.

Writes tests/vectors/ledger_vectors.json and prints the markdown section, so the document,
the JSON and the code cannot drift apart silently:

    python tools/make_ledger_vectors.py               # write JSON, print markdown
    python tools/make_ledger_vectors.py --update-doc  # also splice markdown into the doc
    python tools/make_ledger_vectors.py --check       # exit 1 if JSON or doc are stale

Everything is deterministic: fixed dates, a fixed TEST signing key, and Ed25519 signatures
(which are deterministic by construction).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from giving.ledger.canonical import (  # noqa: E402
    GENESIS_CHAIN_HASH,
    JsonValue,
    Posting,
    canonical_json,
    chain_hash,
    leaf_input,
    leaf_record,
)
from giving.ledger.checkpoint import (  # noqa: E402
    format_vkey,
    sign_checkpoint,
    signing_key_from_seed,
)
from giving.ledger.merkle import (  # noqa: E402
    TreeReader,
    leaf_hash,
)

JSON_PATH = ROOT / "tests" / "vectors" / "ledger_vectors.json"
DOC_PATH = ROOT / "docs" / "ledger-format.md"
BEGIN_MARK = "<!-- BEGIN GENERATED VECTORS (tools/make_ledger_vectors.py) -->"
END_MARK = "<!-- END GENERATED VECTORS -->"

TEST_KEY_LABEL = b"giving ledger-format TEST KEY - never use for real checkpoints"
TEST_SEED = hashlib.sha256(TEST_KEY_LABEL).digest()
ORIGIN = "giving.example.org/test-ledger"
CAMPAIGN_A = "cmp_01HZX4A7"
CAMPAIGN_B = "cmp_01HZX4B2"
CHECKPOINT_SIZES = (3, 7)
INCLUSION = (4, 7)  # (index, tree size)
CONSISTENCY = (3, 7)  # (old size, new size)


def _digest(label: str) -> str:
    return hashlib.sha256(label.encode("utf-8")).hexdigest()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _fund(campaign: str) -> str:
    return f"campaign:{campaign}:fund"


def story() -> list[dict[str, JsonValue]]:
    """Seven entries: gifts, fees, a disbursement with evidence, a reversal and a refund."""
    a, b = _fund(CAMPAIGN_A), _fund(CAMPAIGN_B)
    specs: list[dict[str, Any]] = [
        {
            "campaign": CAMPAIGN_A,
            "kind": "donation",
            "occurred_at": _at("2024-05-01T08:00:00"),
            "postings": [Posting("processor:stripe", 10000, "CNY"), Posting(a, -10000, "CNY")],
            "ref": "ch_test_0001:donation",
            "donor_commitment": _digest("test receipt secret 0001"),
        },
        {
            "campaign": CAMPAIGN_A,
            "kind": "processor_fee",
            "occurred_at": _at("2024-05-01T08:00:00"),
            "postings": [Posting(a, 60, "CNY"), Posting("processor:stripe", -60, "CNY")],
            "ref": "ch_test_0001:processor_fee",
        },
        {
            "campaign": CAMPAIGN_B,
            "kind": "donation",
            "occurred_at": _at("2024-05-02T09:30:15.250000"),
            "postings": [Posting(b, -2500, "USD"), Posting("processor:stripe", 2500, "USD")],
            "ref": "ch_test_0002:donation",
            "donor_commitment": _digest("test receipt secret 0002"),
        },
        {
            "campaign": CAMPAIGN_A,
            "kind": "platform_fee",
            "occurred_at": _at("2024-05-03T00:00:00"),
            "postings": [Posting(a, 300, "CNY"), Posting("income:platform_fees", -300, "CNY")],
            "memo": "platform fee 3%",
        },
        {
            "campaign": CAMPAIGN_A,
            "kind": "disbursement",
            "occurred_at": _at("2024-05-10T06:15:00"),
            "postings": [Posting(a, 5000, "CNY"), Posting("payee:disbursed", -5000, "CNY")],
            "memo": "学习用品：课本和文具 (school supplies)",
            "evidence": [_digest("test invoice 0001"), _digest("test photo of goods 0001")],
        },
        {
            "campaign": CAMPAIGN_A,
            "kind": "reversal",
            "occurred_at": _at("2024-05-11T12:00:00"),
            "postings": [Posting(a, -300, "CNY"), Posting("income:platform_fees", 300, "CNY")],
            "memo": "platform fee charged in error",
            "reverses": 3,
        },
        {
            "campaign": CAMPAIGN_A,
            "kind": "refund",
            "occurred_at": _at("2024-05-12T16:45:30.000001"),
            "postings": [Posting(a, 1000, "CNY"), Posting("processor:stripe", -1000, "CNY")],
            "ref": "ch_test_0001:refund",
            "reverses": 0,
        },
    ]
    return [leaf_record(seq=seq, **spec) for seq, spec in enumerate(specs)]


def _line(obj: dict[str, JsonValue]) -> str:
    # Export lines are written canonically too, so an export is byte-for-byte reproducible.
    return canonical_json(obj).decode("utf-8")


def build_vectors() -> dict[str, Any]:
    """Compute every published value from the story with the ledger's own code."""
    records = story()
    inputs = [leaf_input(record) for record in records]
    hashes = [leaf_hash(data) for data in inputs]
    chains, previous = [], GENESIS_CHAIN_HASH
    for value in hashes:
        previous = chain_hash(previous, value)
        chains.append(previous)
    tree = TreeReader.from_leaf_hashes(hashes)
    roots = [tree.root(size) for size in range(len(hashes) + 1)]
    key = signing_key_from_seed(TEST_SEED)
    size = len(records)

    entries = [
        {
            "seq": seq,
            "leaf": records[seq],
            "leaf_input": inputs[seq].decode("utf-8"),
            "leaf_hash": hashes[seq].hex(),
            "chain_hash": chains[seq].hex(),
        }
        for seq in range(size)
    ]
    export_lines = [
        _line(
            {
                "seq": seq,
                "leaf": records[seq],
                "leaf_hash": hashes[seq].hex(),
                "chain_hash": chains[seq].hex(),
            }
        )
        for seq in range(size)
    ]
    campaign_lines = [
        _line(
            {
                "seq": seq,
                "leaf": records[seq],
                "leaf_hash": hashes[seq].hex(),
                "chain_hash": chains[seq].hex(),
                "tree_size": size,
                "inclusion_proof": [h.hex() for h in tree.inclusion_proof(seq, size)],
            }
        )
        for seq in range(size)
        if records[seq]["campaign"] == CAMPAIGN_A
    ]
    index, at_size = INCLUSION
    old, new = CONSISTENCY
    return {
        "description": "Worked test vectors of docs/ledger-format.md; generated, do not edit.",
        "test_key": {
            "warning": "TEST KEY, published on purpose: never use it for real checkpoints",
            "seed_derivation": f"SHA-256 of the ASCII text {TEST_KEY_LABEL.decode('ascii')!r}",
            "ed25519_seed": TEST_SEED.hex(),
            "key_name": ORIGIN,
            "vkey": format_vkey(ORIGIN, key),
        },
        "origin": ORIGIN,
        "entries": entries,
        "roots": {str(n): root.hex() for n, root in enumerate(roots)},
        "inclusion": {
            "index": index,
            "tree_size": at_size,
            "leaf_hash": hashes[index].hex(),
            "proof": [h.hex() for h in tree.inclusion_proof(index, at_size)],
            "root": roots[at_size].hex(),
        },
        "consistency": {
            "old_size": old,
            "new_size": new,
            "old_root": roots[old].hex(),
            "new_root": roots[new].hex(),
            "proof": [h.hex() for h in tree.consistency_proof(old, new)],
        },
        "checkpoints": {
            str(n): sign_checkpoint(ORIGIN, n, roots[n], key, ORIGIN) for n in CHECKPOINT_SIZES
        },
        "export_lines": export_lines,
        "campaign_export": {"campaign": CAMPAIGN_A, "tree_size": size, "lines": campaign_lines},
    }


# --------------------------------------------------------------------------- markdown


def _code(text: str, lang: str = "") -> list[str]:
    return [f"```{lang}", text.rstrip("\n"), "```", ""]


def _hash_list(values: Sequence[str]) -> str:
    return "\n".join(f"{n}: {value}" for n, value in enumerate(values)) or "(empty)"


def render_markdown(vectors: dict[str, Any]) -> str:
    """Render the vectors as the document's worked-example section."""
    key = vectors["test_key"]
    out = [
        BEGIN_MARK,
        "",
        "### Test key (TEST ONLY)",
        "",
        f"**This key is published on purpose and must never sign a real checkpoint.** Its "
        f"Ed25519 seed is {key['seed_derivation']}:",
        "",
        *_code(
            f"seed      {key['ed25519_seed']}\nkey name  {key['key_name']}\nvkey      {key['vkey']}"
        ),
        "### Entries",
        "",
        "For each entry: the leaf input (canonical JSON, shown as UTF-8 text with no trailing "
        "newline), its leaf hash and its chain hash.",
        "",
    ]
    for entry in vectors["entries"]:
        out += [f"**seq {entry['seq']}** ({entry['leaf']['kind']})", ""]
        out += _code(entry["leaf_input"], "json")
        out += _code(f"leaf_hash  {entry['leaf_hash']}\nchain_hash {entry['chain_hash']}")
    out += ["### Tree heads", "", "| size | root hash (hex) |", "| ---: | --- |"]
    out += [f"| {size} | `{root}` |" for size, root in vectors["roots"].items()]
    inc, con = vectors["inclusion"], vectors["consistency"]
    out += [
        "",
        "### Inclusion proof",
        "",
        f"Entry {inc['index']} in the tree of size {inc['tree_size']} "
        f"(leaf hash `{inc['leaf_hash']}`, root `{inc['root']}`), nearest sibling first:",
        "",
        *_code(_hash_list(inc["proof"])),
        "### Consistency proof",
        "",
        f"From size {con['old_size']} (root `{con['old_root']}`) to size {con['new_size']} "
        f"(root `{con['new_root']}`):",
        "",
        *_code(_hash_list(con["proof"])),
        "### Signed checkpoints",
        "",
    ]
    for size, text in vectors["checkpoints"].items():
        out += [f"Tree size {size}:", "", *_code(text)]
    out += [
        "### Export",
        "",
        "The full export (one line per entry; each line is itself written as canonical JSON):",
        "",
        *_code("\n".join(vectors["export_lines"]), "json"),
        f"The per-campaign export of `{vectors['campaign_export']['campaign']}` carries "
        "inclusion proofs against the checkpoint of size "
        f"{vectors['campaign_export']['tree_size']}:",
        "",
        *_code("\n".join(vectors["campaign_export"]["lines"]), "json"),
        END_MARK,
    ]
    return "\n".join(out) + "\n"


def _json_text(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, ensure_ascii=False, indent=2) + "\n"


def _spliced_doc(doc: str, section: str) -> str:
    start, end = doc.find(BEGIN_MARK), doc.find(END_MARK)
    if start < 0 or end < start:
        raise SystemExit(f"{DOC_PATH} lacks the generated-vectors markers")
    return doc[:start] + section + doc[end + len(END_MARK) + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-doc", action="store_true", help="splice into the doc")
    parser.add_argument("--check", action="store_true", help="fail if JSON or doc are stale")
    args = parser.parse_args(argv)
    vectors = build_vectors()
    section = render_markdown(vectors)
    if args.check:
        stale = [
            str(path)
            for path, ok in (
                (JSON_PATH, JSON_PATH.read_text(encoding="utf-8") == _json_text(vectors)),
                (DOC_PATH, section in DOC_PATH.read_text(encoding="utf-8")),
            )
            if not ok
        ]
        if stale:
            print("stale, rerun tools/make_ledger_vectors.py --update-doc:", *stale)
            return 1
        return 0
    JSON_PATH.write_text(_json_text(vectors), encoding="utf-8")
    if args.update_doc:
        doc = DOC_PATH.read_text(encoding="utf-8")
        DOC_PATH.write_text(_spliced_doc(doc, section), encoding="utf-8")
    print(section, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
