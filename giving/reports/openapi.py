"""The OpenAPI description of the reports' public API: is this file a published report?

``/api/v1/reports/verify`` (giving/reports/public_pages.py ``verify_api``) answers for a
SHA-256 or for the PDF itself. giving/api_docs.py merges ``PATHS`` and ``SCHEMAS`` into
/api/v1/openapi.json. The examples are what the endpoint returns for a published report and
for an unknown file; a test checks them against a real published version, so they stay true.
"""

from __future__ import annotations

from typing import Any

from giving.openapi import HEX_HASH, TOO_LARGE, error_content, ok

TAG = "Reports"
TAGS: list[dict[str, str]] = [
    {
        "name": TAG,
        "description": "Published accountability reports: check that a PDF (or its SHA-256) "
        "is one that Giving published, and which version it is.",
    }
]

# The white space Python's str.strip() removes (giving/reports/services.verify_sha256), spelt
# out: a pattern's \s is ECMAScript's, which differs (it has U+FEFF, lacks U+001C-U+001F).
_SPACE = (
    "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f"
    "\\u205f\\u3000]"
)
_HASH_TEXT = {
    "type": "string",
    "pattern": f"^{_SPACE}*[0-9A-Fa-f]{{64}}{_SPACE}*$",
    "description": "The SHA-256 of the report file as 64 hexadecimal characters (either case; "
    "surrounding white space is ignored)",
}
_DIGEST = "9f2c5d0e8b7a41c3e6d1f0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"

PUBLISHED_EXAMPLE: dict[str, Any] = {
    "sha256": _DIGEST,
    "published": True,
    "campaign": {
        "public_id": "cq3zk7m2xv4pa",
        "title": "Textbooks for Liangshan village schools",
        "transparency_url": "https://giving.example.org/c/textbooks-for-liangshan/transparency",
    },
    "version": 2,
    "language": "en",
    "report_date": "2026-11-29T12:00:00+00:00",
    "published_at": "2026-11-29T12:00:04.512000+00:00",
    "tree_size": 1042,
    "ledger_range": [17, 1039],
    "download_url": "https://giving.example.org/reports/31/report.pdf",
    "signoffs": [
        {
            "auditor": "Auditor Sun",
            "signed_at": "2026-12-02T09:15:00.000000+00:00",
            "statement": "Matched every charge with the processor's statement.",
        }
    ],
}
UNKNOWN_EXAMPLE: dict[str, Any] = {"sha256": "0" * 64, "published": False}

# English texts from giving/reports (public_pages.verify_api, services.verify_*), as the API
# sends them to a client that asks for English; other languages get them translated.
_NOT_UNDERSTOOD = "That request was not understood"
MISSING_EXAMPLE: dict[str, Any] = {
    "error": _NOT_UNDERSTOOD,
    "message": "Send the report as a file named 'file', or a 'sha256'.",
    "status": 400,
}
MALFORMED_HASH_EXAMPLE: dict[str, Any] = {
    "error": _NOT_UNDERSTOOD,
    "message": "A SHA-256 is 64 hexadecimal characters (0-9, a-f).",
    "status": 400,
}
NOT_A_PDF_EXAMPLE: dict[str, Any] = {
    "error": _NOT_UNDERSTOOD,
    "message": "That file is not a PDF. Upload the report file exactly as you downloaded it.",
    "status": 400,
}
EMPTY_FILE_EXAMPLE: dict[str, Any] = {
    "error": _NOT_UNDERSTOOD,
    "message": "The file is empty.",
    "status": 400,
}


def _bad_request(*examples: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "description": "Neither a file nor a SHA-256 was sent, the SHA-256 is malformed, or the "
        "file is empty or not a PDF",
        "content": error_content(*examples),
    }


_VERIFIED = ok(
    "Verification",
    "Whether the file or hash is a published report version, and if so which",
    published=PUBLISHED_EXAMPLE,
    unknown=UNKNOWN_EXAMPLE,
)

PATHS: dict[str, Any] = {
    "/api/v1/reports/verify": {
        "get": {
            "operationId": "verifyReportHash",
            "tags": [TAG],
            "summary": "Is the file with this SHA-256 a published accountability report?",
            "description": "Looks the hash up among every published report version (each "
            "language of each version is its own file). No login; nothing is recorded.",
            "parameters": [
                {
                    "name": "sha256",
                    "in": "query",
                    "required": True,
                    "description": "The SHA-256 of the report file",
                    "schema": _HASH_TEXT,
                }
            ],
            "responses": {
                "200": _VERIFIED,
                "400": _bad_request(
                    ("missing", MISSING_EXAMPLE), ("malformedHash", MALFORMED_HASH_EXAMPLE)
                ),
            },
        },
        "post": {
            "operationId": "verifyReportFile",
            "tags": [TAG],
            "summary": "Is this PDF (or this SHA-256) a published accountability report?",
            "description": "Upload the PDF exactly as downloaded (up to 200 MiB) as the "
            "multipart field ``file``; Giving hashes it and looks the hash up. Alternatively "
            "send ``sha256`` as a form field or in a JSON object. A file wins over a hash. "
            "No CSRF token or login is needed; nothing is stored.",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "description": "The file, or the SHA-256; with a file, the "
                            "SHA-256 field is ignored (the page's form sends both)",
                            "properties": {
                                "file": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": "The report PDF",
                                },
                                "sha256": {
                                    "description": "Ignored when a file is sent; otherwise the "
                                    "SHA-256 as below"
                                },
                            },
                            "anyOf": [
                                {"required": ["file"]},
                                {"required": ["sha256"], "properties": {"sha256": _HASH_TEXT}},
                            ],
                        },
                        "encoding": {"file": {"contentType": "application/pdf"}},
                    },
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["sha256"],
                            "properties": {"sha256": _HASH_TEXT},
                        }
                    },
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["sha256"],
                            "properties": {"sha256": _HASH_TEXT},
                        }
                    },
                },
            },
            "responses": {
                "200": _VERIFIED,
                "400": _bad_request(
                    ("missing", MISSING_EXAMPLE),
                    ("malformedHash", MALFORMED_HASH_EXAMPLE),
                    ("notAPdf", NOT_A_PDF_EXAMPLE),
                    ("emptyFile", EMPTY_FILE_EXAMPLE),
                ),
                "413": TOO_LARGE,
            },
        },
    }
}

_TIMESTAMP = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Verification": {
        "description": "``published`` says whether the hash belongs to a published report "
        "version; only then are the other fields present.",
        "oneOf": [
            {"$ref": "#/components/schemas/PublishedReport"},
            {"$ref": "#/components/schemas/UnknownReport"},
        ],
    },
    "UnknownReport": {
        "type": "object",
        "required": ["sha256", "published"],
        "properties": {"sha256": HEX_HASH, "published": {"const": False}},
    },
    "PublishedReport": {
        "type": "object",
        "required": [
            "sha256",
            "published",
            "campaign",
            "version",
            "language",
            "report_date",
            "published_at",
            "tree_size",
            "ledger_range",
            "download_url",
            "signoffs",
        ],
        "properties": {
            "sha256": {**HEX_HASH, "description": "Normalised: lower case, no spaces"},
            "published": {"const": True},
            "campaign": {
                "type": "object",
                "required": ["public_id", "title", "transparency_url"],
                "properties": {
                    "public_id": {"type": "string"},
                    "title": {"type": "string"},
                    "transparency_url": {"type": "string", "format": "uri"},
                },
            },
            "version": {"type": "integer", "minimum": 1},
            "language": {"type": "string", "enum": ["en", "zh"]},
            "report_date": {
                **_TIMESTAMP,
                "description": "The date printed in the report: when its publication was "
                "requested, in whole seconds",
            },
            "published_at": {**_TIMESTAMP, "description": "When the rendered file was stored"},
            "tree_size": {
                "type": "integer",
                "minimum": 0,
                "description": "Size of the signed ledger checkpoint the report is built on",
            },
            "ledger_range": {
                "type": "array",
                "description": "The campaign's first and last ledger entry (seq) in the report",
                "prefixItems": [
                    {"type": ["integer", "null"]},
                    {"type": ["integer", "null"]},
                ],
                # Never used (maxItems), but array tools expect ``items`` beside prefixItems.
                "items": {"type": ["integer", "null"]},
                "minItems": 2,
                "maxItems": 2,
            },
            "download_url": {"type": "string", "format": "uri"},
            "signoffs": {
                "type": "array",
                "description": "Auditors' statements about this version, oldest first",
                "items": {
                    "type": "object",
                    "required": ["auditor", "signed_at", "statement"],
                    "properties": {
                        "auditor": {"type": "string", "description": "The auditor's name"},
                        "signed_at": _TIMESTAMP,
                        "statement": {"type": "string"},
                    },
                },
            },
        },
    },
}
