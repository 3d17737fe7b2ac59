"""The OpenAPI description of the public children's figures: ``/api/v1/campaigns/<id>/impact``.

The route is in giving/impact/views.py and its body is ``ImpactFigures.as_dict()``
(giving/impact/figures.py): counts exactly as the campaign's public page shows them, never
more. giving/api_docs.py merges ``PATHS`` and ``SCHEMAS`` into /api/v1/openapi.json.
"""

from __future__ import annotations

from typing import Any

from giving.openapi import NOT_FOUND, TEXT_WITHOUT_NUL, ok, path_param

TAG = "Impact"
TAGS: list[dict[str, str]] = [
    {
        "name": TAG,
        "description": "The children each campaign helped, aggregated and suppressed exactly "
        "as its public page shows them.",
    }
]

_COUNT_PROPERTIES: dict[str, Any] = {
    "shown": {
        "type": "string",
        "enum": ["exact", "fewer_than", "range", "withheld"],
        "description": "How the count is published: exact, as 'fewer than k', as a range of "
        "width k, or not at all (so that a hidden count cannot be worked out)",
    },
    "text": {"type": "string", "description": "The count as the page prints it"},
    "value": {"type": "integer", "minimum": 0, "description": "Only when shown is exact"},
    "below": {"type": "integer", "description": "Only when shown is fewer_than: k"},
    "min": {"type": "integer", "description": "Only when shown is range"},
    "max": {"type": "integer", "description": "Only when shown is range"},
}

PATHS: dict[str, Any] = {
    "/api/v1/campaigns/{public_id}/impact": {
        "get": {
            "operationId": "getCampaignImpact",
            "tags": [TAG],
            "summary": "Children a campaign helped, as its public page shows them",
            "description": "Counts below the suppression threshold are given as 'fewer than "
            "k', larger ones as ranges whenever any count is suppressed, and cost per child "
            "only when every count is exact. Cached publicly for five minutes.",
            "parameters": [path_param("public_id", TEXT_WITHOUT_NUL, "The campaign's id")],
            "responses": {
                "200": ok("ImpactFigures", "The campaign's public figures"),
                "404": NOT_FOUND,
            },
        }
    }
}

SCHEMAS: dict[str, Any] = {
    "PublicCount": {
        "type": "object",
        "required": ["shown", "text"],
        "properties": _COUNT_PROPERTIES,
    },
    "PublicCountCell": {
        "type": "object",
        "description": "One cell of a breakdown (an age band, a region, a spending category)",
        "required": ["key", "label", "shown", "text"],
        "properties": {
            "key": {
                "type": "string",
                "description": "Stable code, e.g. 6-11, CN-SC, education, not_recorded",
            },
            "label": {"type": "string", "description": "In the visitor's language"},
            **_COUNT_PROPERTIES,
        },
    },
    "ImpactFigures": {
        "type": "object",
        "required": [
            "campaign",
            "suppression_threshold",
            "suppressed",
            "notice",
            "children_helped",
            "cost_per_child",
            "breakdowns",
        ],
        "properties": {
            "campaign": {"type": "string", "description": "The campaign's public id"},
            "suppression_threshold": {"type": "integer", "minimum": 5},
            "suppressed": {
                "type": "boolean",
                "description": "Whether any count is hidden or rounded",
            },
            "notice": {"type": "string", "description": "What was hidden or rounded, and why"},
            "children_helped": {"$ref": "#/components/schemas/PublicCount"},
            "cost_per_child": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["amount_minor", "currency"],
                        "properties": {
                            "amount_minor": {"type": "integer", "description": "Minor units"},
                            "currency": {"type": "string"},
                        },
                    },
                    {"type": "null"},
                ]
            },
            "breakdowns": {
                "type": "object",
                "description": "By age_band, region and category, in a fixed order; null when "
                "a whole breakdown is withheld; empty while no child is recorded",
                "propertyNames": {"enum": ["age_band", "region", "category"]},
                "additionalProperties": {
                    "oneOf": [
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/PublicCountCell"},
                        },
                        {"type": "null"},
                    ]
                },
            },
        },
    },
}
