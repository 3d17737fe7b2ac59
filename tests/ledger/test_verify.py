"""`verify_ledger` on healthy ledgers, and its fast leaf encoder against the reference one."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.ledger.canonical import canonical_json, leaf_record
from giving.ledger.checkpoint import format_vkey
from giving.ledger.leafhash import leaf_input_fast
from giving.ledger.services import make_checkpoint
from giving.ledger.tree import LedgerTree
from giving.ledger.verify import LedgerCorrupt, verify_ledger
from tests.ledger.support import add_campaign, donate, spend

ORIGIN = "giving.test/ledger"

text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]),  # lone surrogates cannot be stored
    max_size=40,
)
hex_digest = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(0, 2**53 - 2),
    campaign=st.one_of(st.none(), text),
    kind=st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
    micros=st.integers(0, 10**17),
    amounts=st.lists(st.integers(-(2**53) + 1, 2**53 - 1), min_size=1, max_size=4),
    accounts=st.lists(text.filter(bool), min_size=1, max_size=4),
    ref=st.one_of(st.none(), text),
    memo=text,
    evidence=st.lists(hex_digest, max_size=3, unique=True),
    commitment=st.one_of(st.none(), hex_digest),
)
def test_the_fast_leaf_encoder_is_byte_for_byte_rfc_8785(
    seq: int,
    campaign: str | None,
    kind: str,
    micros: int,
    amounts: list[int],
    accounts: list[str],
    ref: str | None,
    memo: str,
    evidence: list[str],
    commitment: str | None,
) -> None:
    postings = [(accounts[i % len(accounts)], a, "CNY") for i, a in enumerate(amounts)]
    if sum(amounts):
        assume(abs(sum(amounts)) <= 2**53 - 1)
        postings.append(("balance", -sum(amounts), "CNY"))
    record = leaf_record(
        seq=seq,
        campaign=campaign,
        kind=kind,
        occurred_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros),
        postings=postings,
        ref=ref,
        memo=memo,
        reverses=seq - 1 if seq else None,
        evidence=evidence,
        donor_commitment=commitment,
    )

    assert leaf_input_fast(record) == canonical_json(record)


def test_controls_and_non_ascii_text_encode_identically() -> None:
    record = leaf_record(
        seq=1,
        campaign="c",
        kind="donation",
        occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        postings=[("a", 1, "CNY"), ("b", -1, "CNY")],
        memo='\x00\x01\x08\t\n\x0b\x0c\r\x1f "\\ / \x7f \u2028 学习 😀',
    )

    assert leaf_input_fast(record) == canonical_json(record)


def test_checkpoints_at_several_sizes_all_verify(session: Session) -> None:
    key = Ed25519PrivateKey.generate()
    campaign = add_campaign(session)
    make_checkpoint(session, key, origin=ORIGIN)  # the empty tree
    for n in range(5):
        donate(session, campaign, 100 + n)
        make_checkpoint(session, key, origin=ORIGIN)
    spend(session, campaign, "disbursement", 50, "payee:disbursed")

    report = verify_ledger(session, format_vkey(ORIGIN, key), origin=ORIGIN)

    assert (report.entries, report.checkpoints) == (6, 6)
    assert report.root == LedgerTree(session).root()
    assert report.summary() == f"OK: 6 entries, 6 checkpoints, root {report.root.hex()}"


def test_checkpoints_cannot_be_verified_without_the_public_key(session: Session) -> None:
    make_checkpoint(session, Ed25519PrivateKey.generate(), origin=ORIGIN)

    with pytest.raises(LedgerCorrupt, match=r"checkpoint \d+: cannot check its signature"):
        verify_ledger(session, None)


def test_a_checkpoint_from_another_log_is_reported(session: Session) -> None:
    key = Ed25519PrivateKey.generate()
    make_checkpoint(session, key, origin="elsewhere.example/log", key_name=ORIGIN)

    with pytest.raises(LedgerCorrupt, match="origin"):
        verify_ledger(session, format_vkey(ORIGIN, key), origin=ORIGIN)


def test_worker_processes_reach_the_same_verdict_as_the_serial_path(session: Session) -> None:
    key = Ed25519PrivateKey.generate()
    campaign = add_campaign(session)
    for n in range(30):
        donate(session, campaign, 100 + n)
    make_checkpoint(session, key, origin=ORIGIN)

    serial = verify_ledger(session, format_vkey(ORIGIN, key), workers=0)
    parallel = verify_ledger(session, format_vkey(ORIGIN, key), workers=2)

    assert parallel == serial
