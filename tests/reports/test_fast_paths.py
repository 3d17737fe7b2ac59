"""The shortcuts that make a 200,000-entry report fast give exactly what the plain code gives:
entries read straight from the driver, leaf hashes for the proofs, attachments compressed on a
helper thread in large blocks, and PDF streams serialised once."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zlib

import pydyf  # type: ignore[import-untyped]
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.ledger.canonical import format_timestamp
from giving.ledger.queries import iter_published
from giving.ledger.rules import fund_account
from giving.ledger.services import Posting, append_entry
from giving.ledger.tree import LedgerTree, log_size
from giving.reports import attachments
from giving.reports.attachments import AttachmentWriter
from giving.reports.entries import entry_rows, leaf_timestamp, published_entries
from giving.reports.gather import load_proof_tree
from giving.reports.render import deflate_streams_once
from tests.ledger.support import add_campaign, donate, reverse, spend

_instants = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.timezones()
)


@given(moment=_instants)
def test_leaf_timestamps_match_the_ledgers_own_format_for_any_instant(moment: dt.datetime) -> None:
    naive_utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
    assert leaf_timestamp(naive_utc) == format_timestamp(moment)


def _mixed_ledger(session: Session) -> tuple[str, str]:
    """Two campaigns whose entries interleave, with every shape a leaf can take."""
    campaign, other = add_campaign(session), add_campaign(session)
    fund = fund_account(campaign)
    for amount in (5_000, 12_345):
        donate(session, campaign, amount, ref=f"ch_{amount}:donation")
        donate(session, other, amount)
    append_entry(
        session,
        campaign=campaign,
        kind="donation",
        postings=[Posting("processor:stripe", 700, "CNY"), Posting(fund, -700, "CNY")],
        # Before the year 1000 strftime and isoformat disagree; the leaf keeps strftime's form.
        occurred_at=dt.datetime(999, 12, 31, 23, 59, 59, 5, tzinfo=dt.UTC),
        memo='引号 "quoted", comma\nnew line \\ backslash',
        donor_commitment=hashlib.sha256(b"donor").hexdigest(),
    )
    paid = append_entry(
        session,
        campaign=campaign,
        kind="disbursement",
        postings=[Posting(fund, 3_000, "CNY"), Posting("payee:disbursed", -3_000, "CNY")],
        occurred_at=dt.datetime(
            2026, 3, 9, 8, 0, 0, 250_000, tzinfo=dt.timezone(dt.timedelta(hours=8))
        ),
        memo="=SUM(A1) 课本",
        evidence=[hashlib.sha256(b"b").hexdigest(), hashlib.sha256(b"a").hexdigest()],
    )
    spend(session, other, "processor_fee", 30, "processor:stripe")
    reverse(session, paid)
    return campaign, other


def test_entries_read_from_the_driver_equal_the_ledgers_own_leaf_records(session: Session) -> None:
    campaign, other = _mixed_ledger(session)
    size = log_size(session)
    for name in (campaign, other):
        ours = list(published_entries(session, campaign=name, before_seq=size))
        theirs = list(iter_published(session, campaign=name, before_seq=size))
        assert ours == theirs
    rows = list(entry_rows(session, campaign=campaign, before_seq=size))
    assert [row.kind for row in rows] == [
        "donation",
        "donation",
        "donation",
        "disbursement",
        "reversal",
    ]
    assert rows[2].occurred_at == "999-12-31T23:59:59.000005Z"
    assert rows[3].occurred_at == "2026-03-09T00:00:00.250000Z"
    assert rows[3].evidence == sorted(rows[3].evidence)
    # A checkpoint older than the ledger leaves later entries out.
    cut = rows[3].seq
    assert [row.seq for row in entry_rows(session, campaign=campaign, before_seq=cut)] == [
        row.seq for row in rows if row.seq < cut
    ]


def test_a_reader_stopped_early_leaves_the_session_usable(session: Session, backend: str) -> None:
    campaign, _other = _mixed_ledger(session)
    size = log_size(session)
    reader = entry_rows(session, campaign=campaign, before_seq=size)
    first = next(reader)
    reader.close()
    if backend == "postgresql":  # the server-side cursors are gone
        assert session.scalar(sa.text("SELECT count(*) FROM pg_cursors")) == 0
    donate(session, campaign, 100)
    again = list(entry_rows(session, campaign=campaign, before_seq=log_size(session)))
    assert again[0] == first
    assert len(again) == 6


def test_the_proof_tree_of_a_report_is_the_ledgers_stored_tree(session: Session) -> None:
    _mixed_ledger(session)
    stored = LedgerTree(session)
    for size in (1, 5, stored.size):
        tree = load_proof_tree(session, size)
        assert tree.size == size
        assert tree.root() == stored.root(size)
        assert tree.inclusion_proof(size - 1) == stored.inclusion_proof(size - 1, size)


def test_attachments_larger_than_a_block_go_through_the_helper_thread_unchanged() -> None:
    writer = AttachmentWriter("big.jsonl", description="d", mime_type="application/x-ndjson")
    lines = [
        f'{{"seq":{n},"proof":"{hashlib.sha256(str(n).encode()).hexdigest()}"}}\n'
        for n in range(40_000)
    ]
    original = b"".join(line.encode() for line in lines) * 6  # about three blocks
    for start in range(0, len(original), 4_096):
        writer.write(original[start : start + 4_096])
    assert writer._thread is not None  # the threaded path, not the small-file one
    done = writer.finish()
    assert len(original) > 2 * attachments._BLOCK
    assert zlib.decompress(done.deflated) == original
    assert done.deflated == zlib.compress(original, attachments.COMPRESSION_LEVEL)
    assert done.info.size == len(original)
    assert done.info.sha256 == hashlib.sha256(original).hexdigest()
    assert done.md5_hex == hashlib.md5(original, usedforsecurity=False).hexdigest()


def _pdf(keep_streams: bool) -> tuple[bytes, int]:
    """A small PDF with compressed streams, written with an identifier (hashed, then written)."""
    pdf = pydyf.PDF()
    calls = 0

    class CountingStream(pydyf.Stream):  # type: ignore[misc]
        @property
        def data(self) -> bytes:
            nonlocal calls
            calls += 1
            return bytes(super().data)

    for text in ("first page", "second page"):
        stream = CountingStream(compress=True)
        stream.push_state()
        stream.begin_text()
        stream.show_text_string(text)
        stream.end_text()
        stream.pop_state()
        pdf.add_object(stream)
    if keep_streams:
        deflate_streams_once(pdf)
        deflate_streams_once(pdf)  # a second call changes nothing
    out = io.BytesIO()
    pdf.write(out, identifier=b"0" * 32, compress=True)
    return out.getvalue(), calls


def test_pdf_streams_serialised_once_give_the_same_bytes() -> None:
    plain, plain_calls = _pdf(keep_streams=False)
    kept, kept_calls = _pdf(keep_streams=True)
    assert kept == plain
    assert kept_calls == plain_calls // 2 == 2
