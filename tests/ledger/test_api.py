"""The public ledger API: what a donor's or auditor's program can fetch and check."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.ledger.checkpoint import verify_checkpoint
from giving.ledger.keys import ledger_origin, load_signing_key
from giving.ledger.merkle import verify_consistency, verify_inclusion
from giving.ledger.services import make_checkpoint
from tests.ledger.support import add_campaign, donate, spend


@pytest.fixture
def ledger(session: Session) -> dict[str, str]:
    school = add_campaign(session, "cmp_school")
    clinic = add_campaign(session, "cmp_clinic")
    for n in range(6):
        donate(session, school if n % 2 == 0 else clinic, 1_000 + n)
    spend(session, school, "processor_fee", 18, "processor:stripe")
    return {"school": school, "clinic": clinic}


def get_json(client: FlaskClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def test_entries_are_paged_by_seq_with_a_cursor(
    client: FlaskClient, ledger: dict[str, str]
) -> None:
    first = get_json(client, "/api/v1/ledger/entries?limit=3")
    assert [e["seq"] for e in first["entries"]] == [0, 1, 2]
    assert first["next_after_seq"] == 2
    second = get_json(client, "/api/v1/ledger/entries?limit=3&after_seq=2")
    assert [e["seq"] for e in second["entries"]] == [3, 4, 5]
    last = get_json(client, "/api/v1/ledger/entries?limit=3&after_seq=5")
    assert [e["seq"] for e in last["entries"]] == [6]
    assert last["next_after_seq"] is None
    entry = first["entries"][0]
    assert set(entry) == {"seq", "leaf", "leaf_hash", "chain_hash"}
    assert entry["leaf"]["postings"][0]["amount"] in (-1_000, 1_000)


def test_entries_of_one_campaign(client: FlaskClient, ledger: dict[str, str]) -> None:
    page = get_json(client, "/api/v1/ledger/entries?campaign=cmp_school")

    assert [e["seq"] for e in page["entries"]] == [0, 2, 4, 6]
    assert {e["leaf"]["campaign"] for e in page["entries"]} == {"cmp_school"}


def test_one_entry_by_seq(client: FlaskClient, ledger: dict[str, str]) -> None:
    assert get_json(client, "/api/v1/ledger/entries/6")["leaf"]["kind"] == "processor_fee"
    error = get_json(client, "/api/v1/ledger/entries/99", status=404)
    assert error["message"] == "There is no entry 99"


def test_an_inclusion_proof_verifies_against_the_tree_head(
    client: FlaskClient, ledger: dict[str, str]
) -> None:
    body = get_json(client, "/api/v1/ledger/proofs/inclusion?seq=4&tree_size=7")
    head = get_json(client, "/api/v1/ledger/tree-head?tree_size=7")

    assert body["root"] == head["root"]
    assert verify_inclusion(
        bytes.fromhex(body["leaf_hash"]),
        4,
        7,
        [bytes.fromhex(h) for h in body["proof"]],
        bytes.fromhex(head["root"]),
    )


def test_a_consistency_proof_verifies_between_two_sizes(
    client: FlaskClient, ledger: dict[str, str]
) -> None:
    body = get_json(client, "/api/v1/ledger/proofs/consistency?old=3&new=7")

    assert verify_consistency(
        3,
        7,
        bytes.fromhex(body["old_root"]),
        bytes.fromhex(body["new_root"]),
        [bytes.fromhex(h) for h in body["proof"]],
    )
    assert body["new_root"] == get_json(client, "/api/v1/ledger/tree-head")["root"]


def test_the_latest_checkpoint_and_the_key_that_signed_it(
    client: FlaskClient, app: Flask, session: Session, ledger: dict[str, str]
) -> None:
    assert get_json(client, "/api/v1/ledger/checkpoint", status=404)["message"] == (
        "No checkpoint has been published yet"
    )
    settings = app.extensions["giving.settings"]
    make_checkpoint(session, load_signing_key(settings), origin=ledger_origin(settings))

    checkpoint = get_json(client, "/api/v1/ledger/checkpoint")
    key = get_json(client, "/api/v1/ledger/public-key")

    parsed = verify_checkpoint(checkpoint["note"], key["vkey"], origin=key["origin"])
    assert (parsed.size, parsed.root_hash.hex()) == (checkpoint["tree_size"], checkpoint["root"])
    assert checkpoint["tree_size"] == 7
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert key["algorithm"] == "Ed25519"


def test_a_campaign_summary(client: FlaskClient, ledger: dict[str, str]) -> None:
    body = get_json(client, "/api/v1/ledger/campaigns/cmp_school/summary")

    assert body["currencies"]["CNY"]["gross_raised"] == 1_000 + 1_002 + 1_004
    assert body["currencies"]["CNY"]["processor_fees"] == 18
    assert body["currencies"]["CNY"]["available"] == 3_006 - 18
    assert get_json(client, "/api/v1/ledger/campaigns/cmp_nowhere/summary", status=404)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/api/v1/ledger/entries?limit=0", "limit must be at least 1"),
        ("/api/v1/ledger/entries?limit=501", "limit may be at most 500"),
        ("/api/v1/ledger/entries?limit=ten", "limit must be a whole number, not 'ten'"),
        ("/api/v1/ledger/entries?after_seq=-2", "after_seq must be at least -1"),
        ("/api/v1/ledger/entries?after_seq=1.5", "after_seq must be a whole number"),
        ("/api/v1/ledger/proofs/inclusion", "The parameter seq is required"),
        ("/api/v1/ledger/proofs/inclusion?seq=7", "leaf index 7 is not in a tree of size 7"),
        ("/api/v1/ledger/proofs/inclusion?seq=1&tree_size=8", "larger than the log"),
        ("/api/v1/ledger/proofs/inclusion?seq=-1", "seq must be at least 0"),
        ("/api/v1/ledger/proofs/consistency?old=5&new=3", "need 0 <= old size <= new size"),
        ("/api/v1/ledger/proofs/consistency?old=1&new=70", "larger than the log, which has 7"),
        ("/api/v1/ledger/proofs/consistency?new=3", "The parameter old is required"),
        ("/api/v1/ledger/tree-head?tree_size=8", "larger than the log"),
        ("/api/v1/ledger/tree-head?tree_size=99999999999999999999999", "must be a whole number"),
        # What the OpenAPI document calls an integer, and nothing else (these were a 500, or
        # read as a number the client did not write):
        ("/api/v1/ledger/tree-head?tree_size=--5", "must be a whole number, not '--5'"),
        ("/api/v1/ledger/tree-head?tree_size=%C2%B2", "must be a whole number, not '²'"),
        ("/api/v1/ledger/tree-head?tree_size=%D9%A3", "must be a whole number, not '٣'"),
        ("/api/v1/ledger/tree-head?tree_size=%203", "must be a whole number, not ' 3'"),
        ("/api/v1/ledger/tree-head?tree_size=", "must be a whole number, not ''"),
        ("/api/v1/ledger/proofs/inclusion?seq=", "The parameter seq is required"),
        (f"/api/v1/ledger/entries?after_seq={2**63}", f"after_seq must be at most {2**63 - 1}"),
        (f"/api/v1/ledger/tree-head?tree_size={2**63}", f"tree_size must be at most {2**63 - 1}"),
    ],
)
def test_bad_parameters_are_a_400_with_a_json_message(
    client: FlaskClient, ledger: dict[str, str], url: str, message: str
) -> None:
    body = get_json(client, url, status=400)

    assert body["status"] == 400
    assert message.lower() in body["message"].lower()
    assert body["error"]


@pytest.mark.parametrize("seq", ["7", str(2**63 - 1), str(2**63), "9" * 40])
def test_an_entry_beyond_the_log_is_a_404_however_large_its_number(
    client: FlaskClient, ledger: dict[str, str], seq: str
) -> None:
    body = get_json(client, f"/api/v1/ledger/entries/{seq}", status=404)

    assert body["status"] == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/ledger/entries?campaign=%00",
        "/api/v1/ledger/entries?campaign=cmp_school%00",
        "/api/v1/ledger/campaigns/%00/summary",
        "/api/v1/campaigns/cmp_school%00/impact",
    ],
)
def test_a_campaign_id_with_a_nul_byte_is_refused_on_every_database(
    client: FlaskClient, ledger: dict[str, str], url: str
) -> None:
    # PostgreSQL refused the query outright, which was a 500; the edge check
    # (giving/inputs.py) now refuses a NUL anywhere in a request before any query runs.
    body = get_json(client, url, status=400)
    assert body["status"] == 400
    assert "NUL" in body["message"]


def test_an_unknown_campaign_is_a_404(client: FlaskClient, ledger: dict[str, str]) -> None:
    body = get_json(client, "/api/v1/ledger/entries?campaign=cmp_nowhere", status=404)

    assert body["message"] == "There is no campaign cmp_nowhere"


def test_the_openapi_document_describes_every_ledger_route(client: FlaskClient, app: Flask) -> None:
    document = get_json(client, "/api/v1/openapi.json")

    assert document["openapi"].startswith("3.1")
    documented = set(document["paths"])
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("ledger_api."):
            path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule)
            assert path in documented, f"{path} is missing from openapi.json"
            assert "get" in document["paths"][path]
    for path in documented:
        for operation in document["paths"][path].values():
            for response in operation["responses"].values():
                ref = response.get("$ref", "")
                if ref:
                    assert ref.split("/")[-1] in document["components"]["responses"]
