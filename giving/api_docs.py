"""The OpenAPI 3.1 document of the public JSON API, served at /api/v1/openapi.json.

Each package that serves /api/v1 routes describes them in its own ``openapi.py`` (paths and
schemas, written by hand next to the views); this module only puts them together, so the
ledger need not know about reports or impact to publish one document. A test checks that every
route under /api/v1 appears here and that the document is valid OpenAPI.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from flask import Blueprint, Response, jsonify

from giving.impact import openapi as impact_api
from giving.ledger import openapi as ledger_api
from giving.openapi import ERROR_SCHEMA, shared_responses
from giving.reports import openapi as reports_api

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

CONTRIBUTORS: tuple[ModuleType, ...] = (ledger_api, reports_api, impact_api)

_SELF: dict[str, Any] = {
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1 document"}},
        }
    }
}


def _merge(target: dict[str, Any], part: dict[str, Any], what: str) -> None:
    clash = target.keys() & part.keys()
    if clash:
        # Two packages describing one path or schema would silently hide one of them.
        raise ValueError(f"OpenAPI {what} described twice: {sorted(clash)}")
    target.update(part)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at /api/v1/openapi.json."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for module in CONTRIBUTORS:
        _merge(paths, module.PATHS, "path")
        _merge(schemas, module.SCHEMAS, "schema")
    _merge(paths, _SELF, "path")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Giving public API",
            "version": "1",
            "description": "The verifiable ledger: entries, signed checkpoints and RFC 9162 "
            "proofs. Amounts are integers in minor units. Format: docs/ledger-format.md. "
            "Also: whether a file is a published accountability report, and the children "
            "each campaign helped as its public page shows them. No login; errors are JSON "
            '{"error", "message", "status"} in the language the request asks for.',
        },
        "paths": paths,
        "components": {"schemas": schemas, "responses": shared_responses()},
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
