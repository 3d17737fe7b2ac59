"""The fast leaf builder against the reference: the same hash, or no answer at all.

verify trusts FastLeaves in one direction only: a hash it returns must be the hash of
canonical.leaf_input(leaf_record(...)) for the same values, and wherever leaf_record would
refuse the values it must return None, so that the reference path words the refusal.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from giving.ledger.canonical import LeafRecordError, leaf_input, leaf_record
from giving.ledger.fastleaf import FastLeaves
from giving.ledger.merkle import leaf_hash

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FAST_RANGE = (  # the years verify_postgres turns into microseconds; others never reach here
    (dt.datetime(1000, 1, 1, tzinfo=dt.UTC) - EPOCH) // dt.timedelta(microseconds=1),
    (dt.datetime(9999, 1, 1, tzinfo=dt.UTC) - EPOCH) // dt.timedelta(microseconds=1) - 1,
)
KINDS = ["donation", "processor_fee", "platform_fee", "refund", "dispute", "dispute_won"]
KINDS += ["disbursement", "reversal"]

text = st.text(st.characters(codec="utf-8"), max_size=30)  # what a UTF-8 database holds
odd_text = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)  # leaf_record refuses
hex_digest = st.text("0123456789abcdef", min_size=64, max_size=64)
accounts = st.one_of(
    st.sampled_from(["processor:stripe", "payee:disbursed", "income:platform_fees"]),
    st.builds(lambda c: f"campaign:{c}:fund", text),
    text,
)
amounts = st.one_of(st.integers(-(10**6), 10**6), st.integers(-(2**54), 2**54))
currencies = st.one_of(st.sampled_from(["CNY", "USD", "HKD", "EUR"]), st.text(max_size=4))


@st.composite
def postings(draw: st.DrawFn) -> list[tuple[str, int, str]]:
    """Mostly balanced lines (the two-line case above all), sometimes anything at all."""
    if draw(st.booleans()):
        amount = draw(amounts)
        currency = draw(currencies)
        lines = [(draw(accounts), amount, currency), (draw(accounts), -amount, currency)]
        if draw(st.booleans()):
            other = draw(st.sampled_from(["USD", "HKD"]))
            split = draw(st.integers(-500, 500))
            lines += [(draw(accounts), split, other), (draw(accounts), -split, other)]
        return draw(st.permutations(lines))
    return draw(st.lists(st.tuples(accounts, amounts, currencies), max_size=4))


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    seq = draw(st.one_of(st.integers(0, 10**7), st.integers(-2, 2**54)))
    return {
        "seq": seq,
        "campaign": draw(st.one_of(st.none(), st.just("cmp_01HZX4A7"), text, odd_text)),
        "kind": draw(st.one_of(st.sampled_from(KINDS), st.text(max_size=6))),
        "micros": draw(st.integers(*FAST_RANGE)),
        "ref": draw(st.one_of(st.none(), text, odd_text)),
        "memo": draw(st.one_of(text, odd_text, st.just("学习用品：课本和文具"), st.none())),
        "reverses": draw(st.one_of(st.none(), st.integers(-1, seq + 1))),
        "evidence": draw(
            st.one_of(
                st.just("[]"),
                st.lists(hex_digest, max_size=3).map(_json_list),
                st.lists(st.one_of(hex_digest, st.text(max_size=3)), max_size=2).map(_json_list),
                st.sampled_from(["[ ]", "{}", '"abc"', "null", "[1]", "not json"]),
                st.just('{"' + "a" * 64 + '": 1}'),
            )
        ),
        "commitment": draw(st.one_of(st.none(), hex_digest, st.text("0123456789abcdefABCDEF"))),
        "postings": draw(postings()),
    }


def _json_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def reference_hash(row: dict[str, Any]) -> bytes | None:
    """What the generic reader computes (leafhash.row_leaf_hash), None where it refuses."""
    try:
        evidence = [] if row["evidence"] == "[]" else json.loads(row["evidence"])
        record = leaf_record(
            seq=row["seq"],
            campaign=row["campaign"],
            kind=row["kind"],
            occurred_at=EPOCH + dt.timedelta(microseconds=row["micros"]),
            postings=row["postings"],
            ref=row["ref"],
            memo=row["memo"],
            reverses=row["reverses"],
            evidence=evidence,
            donor_commitment=row["commitment"],
        )
        return leaf_hash(leaf_input(record))
    except (LeafRecordError, UnicodeEncodeError, TypeError, ValueError):
        return None


def fast_hash(row: dict[str, Any], leaves: FastLeaves | None = None) -> bytes | None:
    lines = [
        (row["seq"], account, amount, currency) for account, amount, currency in row["postings"]
    ]
    return (leaves or FastLeaves()).leaf_hash(
        row["seq"],
        row["campaign"],
        row["kind"],
        row["micros"],
        row["ref"],
        row["memo"],
        row["reverses"],
        row["evidence"],
        row["commitment"],
        lines,
    )


SHARED = FastLeaves()  # its caches carry over between examples, as between entries


@settings(max_examples=3000, deadline=None)
@given(rows())
def test_the_fast_leaf_hash_is_the_reference_one_or_none(row: dict[str, Any]) -> None:
    fast = fast_hash(row, SHARED)

    assert fast is None or fast == reference_hash(row)
    assert fast == fast_hash(row)  # the caches change nothing


@settings(max_examples=1000, deadline=None)
@given(
    seq=st.integers(1, 10**9),
    campaign=st.one_of(st.none(), text),
    kind=st.sampled_from(KINDS),
    micros=st.integers(*FAST_RANGE),
    ref=st.one_of(st.none(), text),
    memo=text,
    evidence=st.lists(hex_digest, max_size=3),
    commitment=st.one_of(st.none(), hex_digest),
    amount=st.integers(-(2**53) + 1, 2**53 - 1).filter(bool),
    first=accounts.filter(bool),
    second=accounts.filter(bool),
    split=st.one_of(st.none(), st.integers(-(10**6), 10**6)),
)
def test_every_well_formed_leaf_takes_the_fast_path(
    seq: int,
    campaign: str | None,
    kind: str,
    micros: int,
    ref: str | None,
    memo: str,
    evidence: list[str],
    commitment: str | None,
    amount: int,
    first: str,
    second: str,
    split: int | None,
) -> None:
    """Nothing a sealed entry can hold sends it to the slow path (unicode, controls, reversals)."""
    row = {
        "seq": seq,
        "campaign": campaign,
        "kind": kind,
        "micros": micros,
        "ref": ref,
        "memo": memo,
        "reverses": seq - 1 if kind in ("refund", "reversal") else None,
        "evidence": _json_list(evidence),
        "commitment": commitment,
        "postings": [(first, amount, "CNY"), (second, -amount, "CNY")],
    }
    if split is not None:  # a second currency, as a currency exchange would book it
        row["postings"] += [(second, split, "USD"), (first, -split, "USD")]

    fast = fast_hash(row, SHARED)

    assert fast is not None
    assert fast == reference_hash(row)


def test_the_worked_example_of_the_format_document() -> None:
    """docs/ledger-format.md, seq 4: evidence, Chinese text, a fund and a payee."""
    row = {
        "seq": 4,
        "campaign": "cmp_01HZX4A7",
        "kind": "disbursement",
        "micros": (dt.datetime(2024, 5, 10, 6, 15, tzinfo=dt.UTC) - EPOCH)
        // dt.timedelta(microseconds=1),
        "ref": None,
        "memo": "学习用品：课本和文具 (school supplies)",
        "reverses": None,
        "evidence": '["fff36fd888ab5b270cd66fbe18f881f6cf16e84374942467d4c14631394cc279",'
        '"3f6f0736c25eee57a8ea4127d85ca70c0614be8c4d19d8de4ad5d64f8204dd26"]',
        "commitment": None,
        "postings": [
            ("payee:disbursed", -5000, "CNY"),
            ("campaign:cmp_01HZX4A7:fund", 5000, "CNY"),
        ],
    }

    assert fast_hash(row) == bytes.fromhex(
        "c42f08038ffcb9ddfe0ee4736cf84388741c2ec681bee4f4d03c4204d5dfe102"
    )


@settings(max_examples=2000, deadline=None)
@given(st.integers(*FAST_RANGE))
def test_timestamps_match_the_reference_format_in_every_year_it_handles(micros: int) -> None:
    moment = EPOCH + dt.timedelta(microseconds=micros)
    expected = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    assert FastLeaves()._timestamp(micros) == expected
