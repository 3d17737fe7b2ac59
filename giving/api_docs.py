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

from giving.config import Settings, current_settings
from giving.impact import openapi as impact_api
from giving.ledger import openapi as ledger_api
from giving.openapi import CLIENT_ERROR, ERROR_SCHEMA, NO_AUTHENTICATION, shared_responses
from giving.reports import openapi as reports_api

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

CONTRIBUTORS: tuple[ModuleType, ...] = (ledger_api, reports_api, impact_api)

_DOCUMENT_TAG = "Documentation"
_SELF: dict[str, Any] = {
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "tags": [_DOCUMENT_TAG],
            "summary": "This document",
            "description": "The OpenAPI 3.1 description of every operation under /api/v1, "
            "their parameters, bodies and errors. Takes no parameters.",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1 document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "4XX": CLIENT_ERROR,
            },
        }
    }
}
_SELF_TAGS = [{"name": _DOCUMENT_TAG, "description": "The description of this API itself."}]


def _merge(target: dict[str, Any], part: dict[str, Any], what: str) -> None:
    clash = target.keys() & part.keys()
    if clash:
        # Two packages describing one path or schema would silently hide one of them.
        raise ValueError(f"OpenAPI {what} described twice: {sorted(clash)}")
    target.update(part)


def openapi_document(config: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document served at /api/v1/openapi.json.

    The server and contact are this installation's (GIVING_PUBLIC_URL and the operator named
    by GIVING_IATI_ORG_NAME), so a client generated from the document calls the site it came
    from."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    tags: list[dict[str, str]] = []
    for module in CONTRIBUTORS:
        _merge(paths, module.PATHS, "path")
        _merge(schemas, module.SCHEMAS, "schema")
        tags += module.TAGS
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
            "contact": {"name": config.iati_org_name, "url": config.public_base_url},
            # Giving's own licence: the API is the software's, served by its operator.
            "license": {"name": "GNU AGPL v3.0 or later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": config.public_base_url, "description": "This Giving site"}],
        # Public: no operation needs a login, a key or a cookie.
        "security": NO_AUTHENTICATION,
        "tags": tags + _SELF_TAGS,
        "paths": paths,
        "components": {"schemas": schemas, "responses": shared_responses()},
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(current_settings()))
