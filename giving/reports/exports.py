"""Transparency exports of a campaign: CSV of entries and postings, and IATI 2.03 XML.

The CSV has one row per posting, with its entry's public fields repeated, so it opens in any
spreadsheet and sums by account or kind with a filter. It starts with a UTF-8 byte order mark
because spreadsheet programs otherwise misread the Chinese in memos; text cells that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-`` or ``@``) get a leading
apostrophe, the usual defence against CSV injection. Amounts are integers in minor units
(``amount_minor``) plus the same amount in major units as exact decimal text.

``memo`` is the entry's memo exactly as sealed, the text its ``leaf_hash`` covers, so the CSV
still lets anyone recompute the hash; ``description`` is the same memo as people should read
it (giving.ledger.memos.display_memo: fee memos sealed before issue 11 stated minor units as
if they were major ones and are restated). It is the last column so the others keep their
places for anyone reading them by position.

The same writer produces the CSV attached inside a report and the ``giving export csv``
file; the JSON-lines export for the standalone verifier belongs to giving.ledger.export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy.orm import Session

from giving.ledger.export import check_destination
from giving.ledger.memos import display_memo
from giving.ledger.queries import PublishedEntry
from giving.ledger.tree import log_size
from giving.money import CURRENCY_EXPONENTS, currency_digits
from giving.reports.entries import EntryRow, entry_rows

CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "kind",
    "ref",
    "memo",
    "reverses",
    "evidence",
    "donor_commitment",
    "leaf_hash",
    "line",
    "account",
    "amount_minor",
    "currency",
    "amount",
    "description",
)
# The whole ledger's export names each entry's campaign, right after its seq.
ALL_CSV_COLUMNS = (CSV_COLUMNS[0], "campaign", *CSV_COLUMNS[1:])
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


class BinarySink(Protocol):
    def write(self, data: bytes) -> int: ...


def _safe_text(value: str | None) -> str:
    if value is None:
        return ""
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value: str) -> str:
    """A text cell quoted the way csv.writer's QUOTE_MINIMAL quotes it."""
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


def major_units(amount_minor: int, currency: str) -> str:
    """Exact decimal text of a minor-unit amount, e.g. -1250 CNY -> "-12.50" (integers only)."""
    exponent = CURRENCY_EXPONENTS.get(currency)
    if exponent is None:
        exponent = currency_digits(currency)
    if exponent == 2:  # every currency Giving takes, so far: the export's hot path
        if amount_minor < 0:
            return f"-{-amount_minor // 100}.{-amount_minor % 100:02d}"
        return f"{amount_minor // 100}.{amount_minor % 100:02d}"
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}" if exponent else f"{sign}{whole}"


def csv_rows(entry: PublishedEntry) -> list[list[Any]]:
    """One row per posting of ``entry``."""
    leaf = entry.leaf
    postings = leaf["postings"]
    assert isinstance(postings, list)
    evidence = leaf["evidence"]
    assert isinstance(evidence, list)
    common = [
        entry.seq,
        leaf["occurred_at"],
        leaf["kind"],
        _safe_text(leaf["ref"]),  # type: ignore[arg-type]
        _safe_text(leaf["memo"]),  # type: ignore[arg-type]
        "" if leaf["reverses"] is None else leaf["reverses"],
        " ".join(str(digest) for digest in evidence),
        leaf["donor_commitment"] or "",
        entry.leaf_hash.hex(),
    ]
    description = _safe_text(display_memo(str(leaf["kind"]), str(leaf["memo"])))
    rows = []
    for line, posting in enumerate(postings):
        assert isinstance(posting, dict)
        amount = int(posting["amount"])  # type: ignore[arg-type]
        currency = str(posting["currency"])
        rows.append(
            [
                *common,
                line,
                posting["account"],
                amount,
                currency,
                major_units(amount, currency),
                description,
            ]
        )
    return rows


class CsvWriter:
    """Writes the header once, then the rows of each entry it is given.

    Rows collect in a text buffer that is encoded and handed on in blocks: one encode per
    few thousand rows instead of one per row.
    """

    FLUSH_EVERY = 2_000

    def __init__(self, sink: BinarySink | IO[bytes], *, with_campaign: bool = False) -> None:
        self._sink = sink
        self._with_campaign = with_campaign
        self._buffer = io.StringIO()
        self._buffer.write(BOM)
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._writer.writerow(ALL_CSV_COLUMNS if with_campaign else CSV_COLUMNS)
        self._lines: list[str] = []
        self.entries = 0

    def add(self, entry: EntryRow) -> None:
        """Append the entry's rows, formatted as csv.writer would (tests compare the two)."""
        reverses = entry.reverses
        # Public ids are lower-case letters and digits: nothing to quote.
        campaign = f"{entry.campaign or ''}," if self._with_campaign else ""
        common = (
            f"{entry.seq},{campaign}{entry.occurred_at},{entry.kind},"
            f"{_cell(_safe_text(entry.ref))},{_cell(_safe_text(entry.memo))},"
            f"{'' if reverses is None else reverses},{' '.join(entry.evidence)},"
            f"{entry.donor_commitment or ''},{entry.leaf_hash},"
        )
        description = _cell(_safe_text(display_memo(entry.kind, entry.memo)))
        # Accounts, currencies and kinds follow the ledger's grammar (no commas, quotes or
        # line breaks), so only the free text needs quoting.
        for line, (account, currency, amount) in enumerate(entry.postings):
            self._lines.append(
                f"{common}{line},{account},{amount},{currency},{major_units(amount, currency)},"
                f"{description}\r\n"
            )
        self.entries += 1
        if self.entries % self.FLUSH_EVERY == 0:
            self.flush()

    def flush(self) -> None:
        text = self._buffer.getvalue() + "".join(self._lines)
        if text:
            self._sink.write(text.encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()
        self._lines.clear()


def write_csv(
    entries: Iterable[EntryRow], sink: BinarySink | IO[bytes], *, with_campaign: bool = False
) -> int:
    writer = CsvWriter(sink, with_campaign=with_campaign)
    for entry in entries:
        writer.add(entry)
    writer.flush()
    return writer.entries


def export_csv(session: Session, campaign: str | None, path: Path) -> int:
    """Write the campaign's entries as CSV to ``path`` (replaced only when complete).

    With ``campaign`` None it is the whole ledger, with a ``campaign`` column after ``seq``.
    """
    check_destination(path)
    size = log_size(session)
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("wb") as handle:
            rows = entry_rows(session, campaign=campaign, before_seq=size)
            count = write_csv(rows, handle, with_campaign=campaign is None)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
