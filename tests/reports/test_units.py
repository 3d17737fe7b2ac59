"""The report's building blocks, each against an independent reference: proofs against the
ledger's own Merkle code, export lines against RFC 8785, charts and CSV byte for byte."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.ledger.canonical import canonical_json
from giving.ledger.merkle import inclusion_proof, root_from_leaf_hashes
from giving.ledger.queries import PublishedEntry, iter_published
from giving.ledger.tree import LedgerTree
from giving.reports import charts
from giving.reports.attachments import AttachmentWriter
from giving.reports.data import (
    ChildrenFigures,
    ChildrenGroup,
    ChildrenRow,
    DisbursementDetail,
    ReportContext,
    Series,
    SeriesPoint,
    SignOffLine,
)
from giving.reports.entries import EntryRow, published_entries
from giving.reports.exports import CSV_COLUMNS, csv_rows, major_units, write_csv
from giving.reports.iati import sector_percentages
from giving.reports.proofs import ProofTree
from giving.reports.scan import jsonl_line
from tests.ledger.support import add_campaign, donate


def _hashes(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 31, 64, 100])
def test_every_inclusion_proof_matches_the_ledgers_merkle_code(size: int) -> None:
    leaves = _hashes(size)
    tree = ProofTree(leaves)
    assert tree.root() == root_from_leaf_hashes(leaves)
    for index in range(size):
        assert tree.inclusion_proof(index) == inclusion_proof(leaves, index, size)
        hexes = [h.hex() for h in tree.inclusion_proof(index)]
        assert tree.inclusion_proof_hex(index) == hexes
        assert tree.proof_text(index) == ",".join(f'"{h}"' for h in hexes)
    # Out of order too (the memo must not go stale).
    for index in reversed(range(size)):
        assert tree.proof_text(index) == ",".join(
            f'"{h.hex()}"' for h in inclusion_proof(leaves, index, size)
        )


def test_an_empty_tree_has_the_empty_root_and_no_leaves() -> None:
    tree = ProofTree([])
    assert tree.root() == hashlib.sha256(b"").digest()
    with pytest.raises(IndexError):
        tree.inclusion_proof(0)


def test_proofs_agree_with_the_stored_tree_of_a_real_ledger(session: Session) -> None:
    campaign = add_campaign(session)
    for amount in range(100, 1300, 100):
        donate(session, campaign, amount)
    stored = LedgerTree(session)
    hashes = [stored.leaf_hash(seq) for seq in range(stored.size)]
    tree = ProofTree(hashes)
    assert tree.root() == stored.root()
    for seq in range(stored.size):
        assert tree.inclusion_proof(seq) == stored.inclusion_proof(seq)


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(memo=_text, ref=st.one_of(st.none(), _text.filter(bool)))
def test_export_lines_are_rfc8785_canonical_json_for_any_text(memo: str, ref: str | None) -> None:
    leaf = {
        "v": 1,
        "seq": 7,
        "campaign": "cabc",
        "kind": "donation",
        "occurred_at": "2026-03-01T08:00:00.000123Z",
        "postings": [
            {"account": "campaign:cabc:fund", "amount": -100, "currency": "CNY"},
            {"account": "processor:stripe", "amount": 100, "currency": "CNY"},
        ],
        "ref": ref,
        "memo": memo,
        "reverses": None,
        "evidence": [],
        "donor_commitment": None,
    }
    entry = PublishedEntry(7, leaf, b"\x01" * 32, b"\x02" * 32)  # type: ignore[arg-type]
    line = jsonl_line(EntryRow.from_published(entry), 9, '"' + "03" * 32 + '"')
    expected = entry.to_json() | {"tree_size": 9, "inclusion_proof": ["03" * 32]}
    assert line == canonical_json(expected) + b"\n"


def test_attachments_are_deflated_streams_of_exactly_what_was_written() -> None:
    writer = AttachmentWriter("a.txt", description="d", mime_type="text/plain")
    chunks = [f"line {n} 数据\n".encode() for n in range(20_000)]
    for chunk in chunks:
        writer.write(chunk)
    done = writer.finish()
    original = b"".join(chunks)
    assert zlib.decompress(done.deflated) == original
    assert done.info.size == len(original)
    assert done.info.sha256 == hashlib.sha256(original).hexdigest()
    assert done.md5_hex == hashlib.md5(original, usedforsecurity=False).hexdigest()


def test_csv_has_a_row_per_posting_and_defuses_spreadsheet_formulas(session: Session) -> None:
    campaign = add_campaign(session)
    donate(session, campaign, 1250, ref="=HYPERLINK(evil)")
    entries = list(iter_published(session, campaign=campaign))
    out = io.BytesIO()
    assert write_csv([EntryRow.from_published(e) for e in entries], out) == 1
    text = out.getvalue().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 3  # header and two postings
    by_account = {row[10]: row for row in rows[1:]}
    assert by_account[f"campaign:{campaign}:fund"][11:] == ["-1250", "CNY", "-12.50", ""]
    assert by_account["processor:stripe"][3] == "'=HYPERLINK(evil)"
    assert csv_rows(entries[0])[0][0] == entries[0].seq


@given(memo=_text, ref=st.one_of(st.none(), _text.filter(bool)))
def test_the_fast_csv_writer_writes_exactly_what_csv_writer_would(
    memo: str, ref: str | None
) -> None:
    leaf = {
        "v": 1,
        "seq": 3,
        "campaign": "cabc",
        "kind": "refund",
        "occurred_at": "2026-03-01T08:00:00.000123Z",
        "postings": [
            {"account": "campaign:cabc:fund", "amount": 1050, "currency": "CNY"},
            {"account": "processor:stripe", "amount": -1050, "currency": "CNY"},
        ],
        "ref": ref,
        "memo": memo,
        "reverses": 1,
        "evidence": ["ab" * 32, "cd" * 32],
        "donor_commitment": None,
    }
    entry = PublishedEntry(3, leaf, b"\x01" * 32, b"\x02" * 32)  # type: ignore[arg-type]
    fast = io.BytesIO()
    write_csv([EntryRow.from_published(entry)], fast)
    reference = io.StringIO()
    writer = csv.writer(reference, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(entry))
    assert fast.getvalue().decode("utf-8") == "\ufeff" + reference.getvalue()


def test_major_units_are_exact_decimal_text() -> None:
    assert major_units(-1250, "CNY") == "-12.50"
    assert major_units(5, "USD") == "0.05"
    assert major_units(100_000_000_00, "CNY") == "100000000.00"


def test_nice_steps_are_one_two_or_five_times_a_power_of_ten() -> None:
    assert charts.nice_step(0) == 1
    assert charts.nice_step(7) == 2
    assert charts.nice_step(40_000) == 10_000
    assert charts.nice_step(41_000) == 20_000
    assert charts.nice_step(199_999) == 50_000


def _series() -> Series:
    day = dt.date(2026, 3, 1)
    return Series(
        unit="day",
        currency="CNY",
        points=(
            SeriesPoint(day, 40_000, 1_325, 38_675),
            SeriesPoint(day + dt.timedelta(days=1), 0, 12_000, 26_675),
        ),
    )


def test_charts_are_deterministic_svg_with_a_title_for_screen_readers() -> None:
    words = charts.ChartWords(title="Money <in> & out", description="desc", money_in="In")
    first = charts.money_over_time(
        _series(), words, amount_label=str, period_label=lambda index: f"day {index}"
    )
    second = charts.money_over_time(
        _series(), words, amount_label=str, period_label=lambda index: f"day {index}"
    )
    assert first == second
    assert first.startswith("<svg")
    assert first.endswith("</svg>")
    assert "<title>Money &lt;in&gt; &amp; out</title>" in first
    bars = charts.spending_by_category(
        [("Education", 12_000, 20_000), ("Food", 3_000, None)], words, amount_label=str
    )
    assert bars.count("<rect") == 3  # two bars and the legend swatch
    assert "stroke-dasharray" in bars  # the budget mark


def test_sector_percentages_sum_to_exactly_one_hundred() -> None:
    shares = sector_percentages({"education": 1, "food": 1, "health": 1}, "education")
    assert sum(percentage for _, percentage in shares) == Decimal(100)
    assert [code for code, _ in shares] == ["11220", "12220", "52010"]
    assert sector_percentages({}, "food") == [("52010", Decimal(100))]


def test_report_context_survives_its_json_snapshot() -> None:
    context = ReportContext(
        campaign_public_id="cabc",
        title="书本 Books",
        host_name=None,
        organisers=("Li", "王"),
        currency="CNY",
        goal_minor=500_000,
        budget={"education": 300_000},
        disbursements={
            11: DisbursementDetail(11, "education", "Shop", dt.date(2026, 3, 4), "Books")
        },
        children=ChildrenFigures(
            total="fewer than 10",
            groups=(ChildrenGroup("By age", (ChildrenRow("6 to 11", "fewer than 10"),)),),
            suppressed=True,
            notice="hidden",
        ),
        signoffs=(
            SignOffLine("Sun", dt.datetime(2026, 4, 1, tzinfo=dt.UTC), 1, "a" * 64, 12, "ok"),
        ),
        campaign_url="http://x/c/books",
        verify_url="http://x/verify",
        vkey="x+1+y",
    )
    assert ReportContext.from_json(context.to_json()) == context


def test_fast_published_entries_equal_the_ledgers_own_leaf_records(session: Session) -> None:
    campaign = add_campaign(session)
    other = add_campaign(session)
    for amount in (100, 250, 990):
        donate(session, campaign, amount, ref=f"ch_{amount}:donation")
        donate(session, other, amount)
    ours = list(published_entries(session, campaign=campaign, before_seq=5))
    theirs = list(iter_published(session, campaign=campaign, before_seq=5))
    assert [entry.seq for entry in ours] == [0, 2, 4]
    assert ours == theirs
