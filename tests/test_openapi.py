"""/api/v1/openapi.json: every public API route is in it, it is valid OpenAPI 3.1, its examples
fit its own schemas, and what the routes return fits what it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from giving.api_docs import openapi_document
from giving.impact import links
from tests.api_schema import ApiSchema, pointer
from tests.disbursements.support import make_story
from tests.impact.support import TEST_DATA_KEY, register
from tests.reports.support import app_settings

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule)


def test_every_api_route_the_app_serves_is_documented_with_its_methods(
    app: Flask, document: dict[str, Any]
) -> None:
    served: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            methods = {m.lower() for m in (rule.methods or set()) - IGNORED_METHODS}
            served.setdefault(_openapi_path(rule.rule), set()).update(methods)
    assert "/api/v1/reports/verify" in served
    assert "/api/v1/campaigns/{public_id}/impact" in served
    for path, methods in served.items():
        assert path in document["paths"], f"{path} is missing from openapi.json"
        assert set(document["paths"][path]) == methods, path
    # And nothing is documented that the app does not serve.
    assert set(document["paths"]) == set(served)


def test_the_document_is_valid_openapi_3_1(app: Flask, document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema and its rules
    assert document == openapi_document(app_settings(app))


def _media_with_examples(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(where the schema is, example name, example value) for every example in the document."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            places = [("requestBody",)] if "requestBody" in operation else []
            places += [("responses", status) for status in operation["responses"]]
            for place in places:
                node = operation
                for part in place:
                    node = node[part]
                for media_type, media in node.get("content", {}).items():
                    here = pointer("paths", path, method, *place, "content", media_type)
                    for name, example in media.get("examples", {}).items():
                        found.append((f"{here}/schema", f"{method} {path} {name}", example))
    return found


def test_every_example_fits_its_own_schema(document: dict[str, Any]) -> None:
    schema = ApiSchema(document)
    examples = _media_with_examples(document)
    assert len(examples) >= 8  # verify: published, unknown, and its error bodies
    for where, name, example in examples:
        assert schema.errors(example["value"], where) == [], name


def test_every_referenced_component_exists(document: dict[str, Any]) -> None:
    text = repr(document)
    for kind, name in re.findall(r"'#/components/(\w+)/(\w+)'", text):
        assert name in document["components"][kind], f"{kind}/{name}"


@pytest.fixture
def impact_app(make_app: Any) -> Flask:
    app = make_app(GIVING_DATA_KEY=TEST_DATA_KEY)
    assert isinstance(app, Flask)
    return app


@pytest.mark.parametrize("children", [0, 3, 12])
def test_the_impact_figures_fit_their_description(
    session: Session,
    instance_path: Path,
    impact_app: Flask,
    children: int,
) -> None:
    story = make_story(session, instance_path / "files" / "evidence", raised_minor=1_000_000)
    if children:
        from giving.disbursements import services as disbursements

        request = story.request(50_000)
        paid = disbursements.approve_disbursement(
            session, actor=story.finance, disbursement=request
        )
        helped = [register(story) for _ in range(children)]
        links.set_disbursement_children(
            session, actor=story.organiser, disbursement=paid, refs=[c.ref for c in helped]
        )
    client = impact_app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    schema = ApiSchema(document)
    body = client.get(f"/api/v1/campaigns/{story.campaign.public_id}/impact").get_json()
    assert schema.errors(body, schema.component("ImpactFigures")) == []
    missing = client.get("/api/v1/campaigns/cnope/impact")
    assert missing.status_code == 404
    assert "404" in document["paths"]["/api/v1/campaigns/{public_id}/impact"]["get"]["responses"]
    assert schema.errors(missing.get_json(), schema.component("Error")) == []


def test_what_the_linters_ask_for_holds_even_where_they_are_not_installed(
    app: Flask, document: dict[str, Any]
) -> None:
    # tests/test_openapi_lint.py runs Redocly and Spectral when present; these are the rules
    # they found broken, checked here without them.
    config = app_settings(app)
    assert document["servers"] == [
        {"url": config.public_base_url, "description": "This Giving site"}
    ]
    assert document["security"] == [{}]  # public: no scheme needed
    assert document["info"]["license"]["identifier"] == "AGPL-3.0-or-later"
    assert document["info"]["contact"]["url"] == config.public_base_url
    declared = {tag["name"] for tag in document["tags"]}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method} {path}"
            assert operation["description"].strip(), where
            assert operation["tags"], where
            assert set(operation["tags"]) <= declared, where
            assert any(code.startswith("4") for code in operation["responses"]), where
    for schema in _schemas_within(document):
        if "prefixItems" in schema:
            assert isinstance(schema.get("items"), dict), schema


def _schemas_within(node: Any) -> list[dict[str, Any]]:
    """Every JSON object anywhere in ``node``."""
    if isinstance(node, dict):
        return [node, *(s for value in node.values() for s in _schemas_within(value))]
    if isinstance(node, list):
        return [s for item in node for s in _schemas_within(item)]
    return []
