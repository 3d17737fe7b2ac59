"""JSON-lines exports of the ledger, the input of tools/giving_verify.py (docs/ledger-format.md §6).

A full export has every entry from seq 0; a campaign's export has only its entries, each with
its inclusion proof in the checkpoint's tree. Lines are RFC 8785 canonical JSON, so the same
ledger always exports to the same bytes. The file appears only when complete: it is written
beside its destination and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from giving.ledger.canonical import JsonValue, canonical_json
from giving.ledger.queries import iter_published
from giving.ledger.tree import LedgerTree


class ExportPathError(ValueError):
    """The destination cannot be written (missing folder, a directory, no permission)."""


def check_destination(path: Path) -> None:
    """Refuse a destination that cannot be written, before any work is done."""
    if path.is_dir():
        raise ExportPathError(f"{path} is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportPathError(f"the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ExportPathError(f"{path} is not writable")


def write_export(session: Session, path: Path, *, campaign: str | None, tree_size: int) -> int:
    """Write entries with seq < ``tree_size`` (of ``campaign``, or all) to ``path``; count them.

    A campaign export carries ``tree_size`` and ``inclusion_proof`` on each line, proving each
    entry against the tree head of that size (the size of the checkpoint to verify with).
    """
    check_destination(path)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed into place below
        "wb", dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    try:
        with handle:
            count = _write_lines(session, handle, campaign=campaign, tree_size=tree_size)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return count


def _write_lines(session: Session, out: IO[bytes], *, campaign: str | None, tree_size: int) -> int:
    tree = LedgerTree(session, tree_size) if campaign is not None else None
    count = 0
    for entry in iter_published(session, campaign=campaign, before_seq=tree_size):
        line = entry.to_json()
        if tree is not None:
            proof: list[JsonValue] = [node.hex() for node in tree.inclusion_proof(entry.seq)]
            line["tree_size"] = tree_size
            line["inclusion_proof"] = proof
        out.write(canonical_json(line) + b"\n")
        count += 1
    return count
