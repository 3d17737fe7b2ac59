"""Leaf records and RFC 8785 canonical JSON, in Giving and in the standalone verifier."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from giving.ledger.canonical import (
    GENESIS_CHAIN_HASH,
    LeafRecordError,
    Posting,
    canonical_json,
    chain_hash,
    format_timestamp,
    leaf_input,
    leaf_record,
    parse_timestamp,
    record_leaf_hash,
)
from giving.ledger.merkle import leaf_hash

VERIFIER_PATH = Path(__file__).resolve().parents[2] / "tools" / "giving_verify.py"


def load_standalone_verifier() -> ModuleType:
    """Import tools/giving_verify.py by path; it is a script, not part of the package."""
    spec = importlib.util.spec_from_file_location("giving_verify", VERIFIER_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("giving_verify", module)
    spec.loader.exec_module(module)
    return module


verifier = load_standalone_verifier()

WHEN = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
FUND = "campaign:cmp_01HZX4A7:fund"
DIGEST = hashlib.sha256(b"invoice").hexdigest()


def donation(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "seq": 0,
        "campaign": "cmp_01HZX4A7",
        "kind": "donation",
        "occurred_at": WHEN,
        "postings": [Posting("processor:stripe", 10000, "CNY"), Posting(FUND, -10000, "CNY")],
    }
    values.update(overrides)
    return leaf_record(**values)


def both_canonical(value: Any) -> bytes:
    """Canonicalise with Giving and with the standalone verifier; they must agree."""
    ours, theirs = canonical_json(value), verifier.canonical_json(value)
    assert ours == theirs
    return bytes(ours)


# --------------------------------------------------------------------------- RFC 8785


def test_keys_are_sorted_by_utf16_code_units_as_in_rfc8785_section_3_2_3() -> None:
    # The RFC's own example: the emoji (a surrogate pair, D83D DE00) sorts before U+FB33,
    # which plain code-point order would get wrong.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    text = both_canonical(value).decode("utf-8")
    order = [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]
    positions = [text.index(name) for name in order]
    assert positions == sorted(positions)


def test_chinese_text_is_written_as_utf8_not_escaped() -> None:
    assert both_canonical({"memo": "学习用品：课本"}) == '{"memo":"学习用品：课本"}'.encode()


def test_only_quote_backslash_and_controls_are_escaped() -> None:
    value = '"\\\b\t\n\f\r\x00\x1f\x7f/\u2028é'
    assert (
        both_canonical(value) == b'"\\"\\\\\\b\\t\\n\\f\\r\\u0000\\u001f\x7f/\xe2\x80\xa8\xc3\xa9"'
    )


def test_no_whitespace_and_nested_values_are_canonical() -> None:
    value = {"b": [1, -2, True, False, None, {"z": "", "a": []}], "a": {}}
    assert both_canonical(value) == b'{"a":{},"b":[1,-2,true,false,null,{"a":[],"z":""}]}'


def test_integers_beyond_two_to_the_53_are_refused_by_both() -> None:
    assert both_canonical(2**53 - 1) == b"9007199254740991"
    assert both_canonical(-(2**53 - 1)) == b"-9007199254740991"
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json(2**53)
    with pytest.raises(verifier.CanonicalError):
        verifier.canonical_json(2**53)


def test_floats_and_lone_surrogates_are_refused_by_the_standalone_verifier() -> None:
    with pytest.raises(verifier.CanonicalError, match="never occur"):
        verifier.canonical_json({"amount": 1.5})
    with pytest.raises(verifier.CanonicalError, match="surrogate"):
        verifier.canonical_json("\ud800")
    with pytest.raises(ValueError, match="not an integer"):
        verifier.strict_json('{"amount": 100.0}')
    with pytest.raises(ValueError, match="duplicate key"):
        verifier.strict_json('{"seq": 1, "seq": 2}')


json_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1) | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(database=None, max_examples=300)
@given(json_values)
def test_standalone_canonicaliser_agrees_with_rfc8785_on_random_json(value: Any) -> None:
    assert verifier.canonical_json(value) == rfc8785.dumps(value)


accounts = st.text(min_size=1, max_size=20)
currencies = st.sampled_from(["CNY", "USD", "HKD", "EUR"])
digests = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())


@st.composite
def balanced_postings(draw: st.DrawFn) -> list[Posting]:
    postings = []
    for currency in draw(st.lists(currencies, min_size=1, max_size=3, unique=True)):
        amount = draw(st.integers(min_value=-(10**12), max_value=10**12))
        postings.append(Posting(draw(accounts), amount, currency))
        postings.append(Posting(draw(accounts), -amount, currency))
    return postings


@settings(database=None, max_examples=200)
@given(
    seq=st.integers(min_value=1, max_value=2**40),
    campaign=st.none() | st.text(min_size=1, max_size=12),
    kind=st.sampled_from(["donation", "refund", "disbursement", "reversal", "dispute_won"]),
    occurred_at=st.datetimes(timezones=st.just(UTC)),
    postings=balanced_postings(),
    ref=st.none() | st.text(max_size=30),
    memo=st.text(max_size=60),
    evidence=st.lists(digests, max_size=3),
    commitment=st.none() | digests,
)
def test_standalone_canonicaliser_agrees_with_rfc8785_on_random_leaves(
    seq: int,
    campaign: str | None,
    kind: str,
    occurred_at: datetime,
    postings: list[Posting],
    ref: str | None,
    memo: str,
    evidence: list[str],
    commitment: str | None,
) -> None:
    record = leaf_record(
        seq=seq,
        campaign=campaign,
        kind=kind,
        occurred_at=occurred_at,
        postings=postings,
        ref=ref,
        memo=memo,
        reverses=seq - 1,
        evidence=evidence,
        donor_commitment=commitment,
    )
    assert verifier.canonical_json(record) == rfc8785.dumps(record) == leaf_input(record)
    assert verifier.leaf_hash(verifier.canonical_json(record)) == record_leaf_hash(record)


# --------------------------------------------------------------------------- leaf records


def test_leaf_record_has_exactly_the_design_fields() -> None:
    record = donation()
    assert set(record) == set(verifier.LEAF_FIELDS)
    assert record["v"] == 1
    assert record["ref"] is None
    assert record["memo"] == ""
    assert record["reverses"] is None
    assert record["evidence"] == []
    assert record["donor_commitment"] is None


def test_postings_are_sorted_by_account_then_currency_then_amount() -> None:
    record = donation(
        postings=[
            ("processor:stripe", 500, "USD"),
            ("processor:stripe", 10000, "CNY"),
            (FUND, -500, "USD"),
            (FUND, -10000, "CNY"),
        ]
    )
    assert [(p["account"], p["currency"]) for p in record["postings"]] == [
        (FUND, "CNY"),
        (FUND, "USD"),
        ("processor:stripe", "CNY"),
        ("processor:stripe", "USD"),
    ]


def test_row_order_does_not_change_the_leaf() -> None:
    forward = donation(evidence=[DIGEST, "0" * 64])
    backward = donation(
        evidence=["0" * 64, DIGEST],
        postings=[Posting(FUND, -10000, "CNY"), Posting("processor:stripe", 10000, "CNY")],
    )
    assert leaf_input(forward) == leaf_input(backward)
    assert forward["evidence"] == ["0" * 64, DIGEST]


def test_leaf_hash_is_rfc9162_hash_of_the_canonical_json() -> None:
    record = donation(memo="感谢")
    data = canonical_json(record)
    assert record_leaf_hash(record) == hashlib.sha256(b"\x00" + data).digest() == leaf_hash(data)
    assert "感谢".encode() in data


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"postings": [Posting(FUND, -100, "CNY"), Posting("processor:stripe", 99, "CNY")]},
            "CNY -1",
        ),
        ({"postings": []}, "at least one posting"),
        ({"postings": [Posting(FUND, 1.5, "CNY")]}, "integer"),  # type: ignore[arg-type]
        ({"postings": [Posting(FUND, True, "CNY"), Posting("x", -1, "CNY")]}, "integer"),
        (
            {"postings": [Posting(FUND, 2**53, "CNY"), Posting("x", -(2**53), "CNY")]},
            "safe integer",
        ),
        ({"postings": [Posting(FUND, 1, "cny"), Posting("x", -1, "cny")]}, "ISO 4217"),
        ({"postings": [Posting("", 1, "CNY"), Posting("x", -1, "CNY")]}, "empty"),
        ({"occurred_at": datetime(2024, 5, 1, 8, 0)}, "timezone-aware"),
        ({"seq": -1}, "negative"),
        ({"seq": 3, "reverses": 3}, "earlier entry"),
        ({"kind": "Donation"}, "lower-case"),
        ({"evidence": ["ABC"]}, "hex"),
        ({"donor_commitment": DIGEST.upper()}, "donor_commitment"),
        ({"memo": None}, "memo must be a string"),
        ({"memo": "\ud800"}, "valid Unicode"),
    ],
)
def test_invalid_leaf_values_are_refused_with_a_reason(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(LeafRecordError, match=message):
        donation(**overrides)


# --------------------------------------------------------------------------- timestamps


def test_timestamps_are_utc_with_six_fractional_digits() -> None:
    assert format_timestamp(WHEN) == "2024-05-01T08:00:00.000000Z"
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2024, 5, 1, 16, 0, 0, 250000, tzinfo=beijing)
    assert format_timestamp(moment) == "2024-05-01T08:00:00.250000Z"
    assert parse_timestamp("2024-05-01T08:00:00.250000Z") == moment


@pytest.mark.parametrize(
    "text", ["2024-05-01T08:00:00Z", "2024-05-01T08:00:00.000000+00:00", "2024-05-01 08:00:00"]
)
def test_other_timestamp_spellings_are_refused(text: str) -> None:
    with pytest.raises(LeafRecordError, match="YYYY-MM-DD"):
        parse_timestamp(text)


# --------------------------------------------------------------------------- chain hash


def test_chain_starts_from_32_zero_bytes_and_links_each_leaf() -> None:
    first, second = leaf_hash(b"first"), leaf_hash(b"second")
    assert bytes(32) == GENESIS_CHAIN_HASH
    link0 = chain_hash(GENESIS_CHAIN_HASH, first)
    assert link0 == hashlib.sha256(bytes(32) + first).digest()
    assert chain_hash(link0, second) == hashlib.sha256(link0 + second).digest()
    with pytest.raises(ValueError, match="32 bytes"):
        chain_hash(b"", first)
