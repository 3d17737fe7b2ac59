"""The report verification API does what /api/v1/openapi.json says: its documented examples
are the bodies it really sends, for a published report (with a sign-off), an unknown hash and
each refusal."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from giving.reports import services
from giving.reports.openapi import (
    EMPTY_FILE_EXAMPLE,
    MALFORMED_HASH_EXAMPLE,
    MISSING_EXAMPLE,
    NOT_A_PDF_EXAMPLE,
    PUBLISHED_EXAMPLE,
    UNKNOWN_EXAMPLE,
)
from tests.api_schema import ApiSchema, pointer, shape
from tests.reports.support import ReportStory
from tests.reports.test_publishing import publish, sign_off_as_auditor

VERIFY = "/api/v1/reports/verify"


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    body = client.get("/api/v1/openapi.json").get_json()
    assert isinstance(body, dict)
    return body


def _documented(document: dict[str, Any], method: str, status: str) -> dict[str, Any]:
    media = document["paths"][VERIFY][method]["responses"][status]["content"]["application/json"]
    return {name: example["value"] for name, example in media["examples"].items()}


def _schema_of(method: str, status: str) -> str:
    return pointer(
        "paths", VERIFY, method, "responses", status, "content", "application/json", "schema"
    )


def test_an_unknown_hash_and_each_refusal_are_answered_exactly_as_documented(
    client: FlaskClient, document: dict[str, Any]
) -> None:
    schema = ApiSchema(document)
    assert _documented(document, "get", "200")["unknown"] == UNKNOWN_EXAMPLE
    unknown = client.get(f"{VERIFY}?sha256={UNKNOWN_EXAMPLE['sha256']}")
    assert (unknown.status_code, unknown.get_json()) == (200, UNKNOWN_EXAMPLE)
    assert schema.errors(unknown.get_json(), _schema_of("get", "200")) == []

    get_errors = _documented(document, "get", "400")
    post_errors = _documented(document, "post", "400")
    sent = {
        "missing": client.get(VERIFY),
        "malformedHash": client.get(f"{VERIFY}?sha256=abc123"),
        "notAPdf": client.post(VERIFY, data={"file": (io.BytesIO(b"PK\x03\x04 zip"), "r.pdf")}),
        "emptyFile": client.post(VERIFY, data={"file": (io.BytesIO(b""), "report.pdf")}),
    }
    expected = {
        "missing": MISSING_EXAMPLE,
        "malformedHash": MALFORMED_HASH_EXAMPLE,
        "notAPdf": NOT_A_PDF_EXAMPLE,
        "emptyFile": EMPTY_FILE_EXAMPLE,
    }
    for name, response in sent.items():
        assert response.status_code == 400, name
        assert response.get_json() == expected[name] == post_errors[name], name
        assert schema.errors(response.get_json(), _schema_of("post", "400")) == [], name
    assert get_errors == {"missing": MISSING_EXAMPLE, "malformedHash": MALFORMED_HASH_EXAMPLE}
    # The same refusals over POST, with a form field and with JSON.
    assert client.post(VERIFY, data={}).get_json() == MISSING_EXAMPLE
    assert client.post(VERIFY, json={"sha256": "xyz"}).get_json() == MALFORMED_HASH_EXAMPLE
    assert client.post(VERIFY, data={"sha256": "0" * 64}).get_json() == UNKNOWN_EXAMPLE
    assert "413" in document["paths"][VERIFY]["post"]["responses"]


@pytest.mark.slow
def test_a_published_report_is_answered_in_the_documented_shape(
    rstory: ReportStory, app_context: Flask, client: FlaskClient, document: dict[str, Any]
) -> None:
    (version,) = publish(rstory, app_context, ("en",))
    sign_off_as_auditor(rstory, version)
    rstory.session.expire_all()
    data = services.report_storage(app_context).read(version.file_key)
    schema = ApiSchema(document)
    assert _documented(document, "post", "200")["published"] == PUBLISHED_EXAMPLE

    answers = {
        "get": client.get(f"{VERIFY}?sha256={version.sha256.upper()}"),
        "post file": client.post(VERIFY, data={"file": (io.BytesIO(data), "report.pdf")}),
        "post json": client.post(VERIFY, json={"sha256": version.sha256}),
    }
    for how, response in answers.items():
        assert response.status_code == 200, how
        body = response.get_json()
        assert schema.errors(body, _schema_of("get", "200")) == [], how
        # Same fields, nested the same way, with the same JSON types as the documented example.
        assert shape(body) == shape(PUBLISHED_EXAMPLE), how
        assert body["sha256"] == version.sha256
        assert body["published"] is True
        assert body["campaign"]["public_id"] == rstory.campaign.public_id
        assert body["campaign"]["transparency_url"].endswith(
            f"/c/{rstory.campaign.slug}/transparency"
        )
        assert (body["version"], body["language"]) == (1, "en")
        assert body["tree_size"] == version.tree_size
        assert body["ledger_range"] == [version.first_seq, version.last_seq]
        assert body["download_url"].endswith(f"/reports/{version.id}/report.pdf")
        assert [s["auditor"] for s in body["signoffs"]] == [rstory.story.auditor.display_name]
        assert dt.datetime.fromisoformat(body["report_date"]) == version.report_date
        assert dt.datetime.fromisoformat(body["published_at"]) == version.published_at
