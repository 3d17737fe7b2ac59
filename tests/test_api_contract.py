"""The public API against its own OpenAPI document, property-based (Schemathesis).

For each operation in /api/v1/openapi.json, Schemathesis generates requests the document calls
valid and requests it calls invalid, sends them to the app (WSGI, no server) and runs all its
checks: no 5xx, only documented status codes and content types, bodies that fit the documented
schemas, invalid requests refused with a 4xx and valid ones accepted (issue 11, item 14).

Two allowances, each for named operations only. A whole number the schema accepts may still be
refused with 400 when it does not fit the log (a tree larger than the log, a leaf outside the
tree, an old size above the new) or, for an upload, when the file is not a PDF; the document
says so, since JSON Schema cannot know the log's size, relate two parameters or read a PDF.
And the upload's multipart body is left out of the negative mode (see NO_NEGATIVE_MULTIPART).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session

from giving.api_docs import CONTRIBUTORS
from giving.ledger.keys import ledger_origin, load_signing_key
from giving.ledger.services import make_checkpoint
from tests.disbursements.support import make_story
from tests.impact.support import TEST_DATA_KEY
from tests.ledger.support import add_campaign, donate

EXAMPLES = 25  # per operation and per mode: enough to find a shape bug, quick to run

REFUSED_WHEN_OUT_OF_THE_LOG = [
    "getTreeHead",
    "getInclusionProof",
    "getConsistencyProof",
    "verifyReportFile",
]

# Schemathesis makes a negative multipart body by breaking one branch of the schema's anyOf
# (file, or a well-formed hash), and sometimes the body still satisfies the other branch, so
# the app rightly accepts it. Its urlencoded and JSON bodies, which have no anyOf, are still
# sent in the negative mode, and so is every malformed hash of verifyReportHash.
NO_NEGATIVE_MULTIPART = {"verifyReportFile"}

# Operations that take no input, or only a string any text of which is valid (an unknown
# campaign id is a 404, not a malformed request): no request is invalid, so there is nothing
# for the negative mode to send.
NOTHING_INVALID = {
    "getLatestCheckpoint",
    "getPublicKey",
    "getOpenApi",
    "getCampaignImpact",
    "getCampaignSummary",
}

OPERATIONS = [
    *sorted(
        (operation["operationId"], method.upper(), path)
        for module in CONTRIBUTORS
        for path, item in module.PATHS.items()
        for method, operation in item.items()
    ),
    ("getOpenApi", "GET", "/api/v1/openapi.json"),
]
CASES = [
    pytest.param(mode, *operation, id=f"{mode}-{operation[0]}")
    for operation in OPERATIONS
    for mode in ("positive", "negative")
    if mode == "positive" or operation[0] not in NOTHING_INVALID
]


@pytest.fixture
def api_app(make_app: Any, session: Session, instance_path: Path) -> Flask:
    """An app whose documented server is the test client's host, over a ledger with entries,
    a checkpoint and a hosted campaign."""
    app = make_app(GIVING_DATA_KEY=TEST_DATA_KEY, GIVING_PUBLIC_URL="http://giving.test")
    assert isinstance(app, Flask)
    school = add_campaign(session, "cmp_school")
    for n in range(5):
        donate(session, school, 1_000 + n)
    make_story(session, instance_path / "files" / "evidence", raised_minor=100_000)
    config = app.extensions["giving.settings"]
    make_checkpoint(session, load_signing_key(config), origin=ledger_origin(config))
    return app


def _schema(app: Flask) -> Any:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {
            "operations": [
                {
                    "include-operation-id": operation_id,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404"]}
                    },
                }
                for operation_id in REFUSED_WHEN_OUT_OF_THE_LOG
            ]
        }
    )
    return schemathesis.openapi.from_dict(document, config=config)


def test_every_operation_is_tested_and_only_input_free_ones_skip_the_negative_mode() -> None:
    ids = {operation_id for operation_id, _, _ in OPERATIONS}
    assert len(ids) == len(OPERATIONS) == 12
    assert NOTHING_INVALID.issubset(ids)
    assert ids.issuperset(REFUSED_WHEN_OUT_OF_THE_LOG)
    assert ids.issuperset(NO_NEGATIVE_MULTIPART)


@pytest.mark.parametrize(("mode", "operation_id", "method", "path"), CASES)
def test_the_operation_answers_as_its_document_says(
    api_app: Flask, mode: str, operation_id: str, method: str, path: str
) -> None:
    operation = _schema(api_app)[path][method]
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
    if mode == "negative" and operation_id in NO_NEGATIVE_MULTIPART:
        strategy = strategy.filter(lambda case: case.media_type != "multipart/form-data")

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def answers(case: Any) -> None:
        case.call_and_validate(app=api_app)

    answers()
