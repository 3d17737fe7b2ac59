"""Building blocks for the OpenAPI 3.1 description of the public JSON API under /api/v1.

Each package that serves /api/v1 routes describes them next to its code (``<package>/openapi.py``
exposes ``PATHS`` and ``SCHEMAS``); giving/api_docs.py puts those together and serves the
document. What they share lives here: the error body every API error has (giving/errorpages.py
renders each DomainError and HTTP error under /api/ as ``{"error", "message", "status"}``), the
responses that use it, and small helpers for parameters and JSON bodies. This module imports
nothing from the app, so any package may use it.
"""

from __future__ import annotations

from typing import Any

HEX_HASH: dict[str, Any] = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
BAD_REQUEST: dict[str, Any] = {"$ref": "#/components/responses/BadRequest"}
NOT_FOUND: dict[str, Any] = {"$ref": "#/components/responses/NotFound"}
# Any text but NUL: giving/inputs.py refuses a NUL anywhere in a request with a 400.
TEXT_WITHOUT_NUL: dict[str, Any] = {"type": "string", "pattern": "^[^\\u0000]*$"}
TOO_LARGE: dict[str, Any] = {"$ref": "#/components/responses/PayloadTooLarge"}
CLIENT_ERROR: dict[str, Any] = {"$ref": "#/components/responses/ClientError"}

# Everything under /api/v1 is public: no login, no key, no cookie. OpenAPI says so with an
# empty security requirement (``{}``: "no scheme needed"), which the root of the document
# carries for every operation.
NO_AUTHENTICATION: list[dict[str, list[str]]] = [{}]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message", "status"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "status": {"type": "integer"},
    },
}


def error_content(*examples: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """An ``application/json`` Error body, with named examples if given."""
    media: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Error"}}
    if examples:
        media["examples"] = {name: {"value": value} for name, value in examples}
    return {"application/json": media}


def shared_responses() -> dict[str, Any]:
    """The responses every package may point at with BAD_REQUEST, NOT_FOUND and TOO_LARGE."""
    return {
        "BadRequest": {
            "description": "A parameter is missing or invalid",
            "content": error_content(),
        },
        "NotFound": {
            "description": "No such campaign, entry or checkpoint",
            "content": error_content(),
        },
        "PayloadTooLarge": {
            "description": "The request body is larger than the endpoint accepts",
            "content": error_content(),
        },
        "ClientError": {
            "description": "A client error. Every error under /api/v1 has this JSON body; an "
            "operation that takes no input answers a well-formed request without one.",
            "content": error_content(),
        },
    }


# Sequence numbers and tree sizes are 64-bit (BIGINT) in the ledger's tables; a larger number
# can name no entry or tree, so the document bounds every such integer by it.
INT64_MAX = 2**63 - 1


def int_schema(minimum: int = 0, maximum: int = INT64_MAX) -> dict[str, Any]:
    """A whole number in ``[minimum, maximum]``, written in decimal ASCII digits."""
    return {"type": "integer", "format": "int64", "minimum": minimum, "maximum": maximum}


def int_param(
    name: str, description: str, *, required: bool, minimum: int = 0, maximum: int = INT64_MAX
) -> dict[str, Any]:
    """An integer query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": int_schema(minimum, maximum),
    }


def path_param(name: str, schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """A path parameter (always required)."""
    param: dict[str, Any] = {"name": name, "in": "path", "required": True, "schema": schema}
    if description:
        param["description"] = description
    return param


def ok(schema: str, description: str, **examples: dict[str, Any]) -> dict[str, Any]:
    """A 200 response whose JSON body is ``#/components/schemas/<schema>``."""
    media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    if examples:
        media["examples"] = {name: {"value": value} for name, value in examples.items()}
    return {"description": description, "content": {"application/json": media}}
