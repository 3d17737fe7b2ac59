"""Fee memos sealed before issue 11 said "fee 79 CNY" on a −CN¥0.79 entry. They are part of
the hashed leaf and can never change, so every human-facing rendering restates them in
major units while the raw memo stays wherever a hash is recomputed from it."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy.orm import Session

from giving.ledger.canonical import leaf_input
from giving.ledger.memos import display_memo
from giving.ledger.merkle import leaf_hash
from giving.ledger.queries import iter_published
from giving.ledger.tree import log_size
from giving.reports.entries import EntryRow
from giving.reports.exports import CSV_COLUMNS, csv_rows, write_csv
from giving.reports.scan import scan_campaign
from tests.reports.support import ReportStory


@pytest.mark.parametrize(
    ("memo", "shown"),
    [
        ("fee 79 CNY (txn_1)", "fee 0.79 CNY (txn_1)"),
        ("fee 320 CNY (txn_12)", "fee 3.20 CNY (txn_12)"),
        ("fee 5 HKD (txn_x)", "fee 0.05 HKD (txn_x)"),
        (
            "fee 50 USD of 690 USD settled = 362 CNY (txn_9)",
            "fee 0.50 USD of 6.90 USD settled = 3.62 CNY (txn_9)",
        ),
        (
            "fee 50 JPY of 690 JPY settled = 362 CNY (txn_9)",
            "fee 50 JPY of 690 JPY settled = 3.62 CNY (txn_9)",
        ),
        # Already in major units (new entries), or not a fee memo at all: unchanged.
        ("fee 0.79 CNY (txn_1)", "fee 0.79 CNY (txn_1)"),
        (
            "fee 0.50 USD of 6.90 USD settled = 3.62 CNY (txn_9)",
            "fee 0.50 USD of 6.90 USD settled = 3.62 CNY (txn_9)",
        ),
        ("dispute fee (txn_3)", "dispute fee (txn_3)"),
        ("Card processing fee (0.6%)", "Card processing fee (0.6%)"),
    ],
)
def test_old_fee_memos_are_shown_in_major_units(memo: str, shown: str) -> None:
    assert display_memo("processor_fee", memo) == shown


def test_only_processor_fee_memos_are_restated() -> None:
    assert display_memo("disbursement", "fee 79 CNY (txn_1)") == "fee 79 CNY (txn_1)"


def _fee_entries(rstory: ReportStory) -> list[EntryRow]:
    entries = [
        EntryRow.from_published(entry)
        for entry in iter_published(rstory.session, campaign=rstory.campaign.public_id)
    ]
    return [entry for entry in entries if entry.kind == "processor_fee"]


def test_the_csv_keeps_the_sealed_memo_and_adds_a_corrected_description(
    rstory: ReportStory,
) -> None:
    fees = _fee_entries(rstory)
    assert fees
    assert fees[0].memo.startswith("fee 320 CNY (txn_")  # as sealed before the fix
    out = io.BytesIO()
    write_csv(fees, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    first = [row for row in rows if row["seq"] == str(fees[0].seq)]
    for row in first:
        assert row["memo"] == fees[0].memo  # the hashed text, so the leaf hash recomputes
        assert row["description"].startswith("fee 3.20 CNY (txn_")
    # The slow reference writer says the same.
    reference = csv_rows(fees[0].published())
    assert reference[0][CSV_COLUMNS.index("description")] == first[0]["description"]
    # And the memo column still hashes to the published leaf hash.
    leaf = fees[0].leaf()
    assert leaf["memo"] == first[0]["memo"]
    assert leaf_hash(leaf_input(leaf)).hex() == first[0]["leaf_hash"]


def test_the_report_appendix_shows_the_corrected_fee(rstory: ReportStory, session: Session) -> None:
    scan = scan_campaign(
        session,
        campaign=rstory.campaign.public_id,
        currency=rstory.campaign.currency,
        tree_size=log_size(session),
        details={},
        ledger_row_cap=2_000,
        disbursement_cap=100,
    )
    fee_rows = [row for row in scan.ledger_rows if row.kind == "processor_fee"]
    assert fee_rows
    for row in fee_rows:
        fee = -row.amount.amount_minor
        assert row.memo.startswith(f"fee {fee // 100}.{fee % 100:02d} CNY (txn_")
