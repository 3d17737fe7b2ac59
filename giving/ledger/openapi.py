"""The OpenAPI description of the ledger's routes under /api/v1/ledger, written by hand.

giving/api_docs.py merges ``PATHS`` and ``SCHEMAS`` into the document served at
/api/v1/openapi.json, and a test checks that every route under /api/v1 appears there, so the
description cannot silently fall behind the blueprint (giving/ledger/api.py).
"""

from __future__ import annotations

from typing import Any

from giving.ledger.balances import SUMMARY_FIELDS
from giving.openapi import (
    BAD_REQUEST,
    CLIENT_ERROR,
    HEX_HASH,
    NOT_FOUND,
    TEXT_WITHOUT_NUL,
    error_content,
    int_param,
    int_schema,
    ok,
    path_param,
)

TAG = "Ledger"
TAGS: list[dict[str, str]] = [
    {
        "name": TAG,
        "description": "The append-only public ledger: entries, signed checkpoints and RFC 9162 "
        "proofs that let anyone check the books offline (docs/ledger-format.md).",
    }
]

# A number the schema allows can still name a tree the log has not reached, or a leaf outside
# the tree; JSON Schema cannot relate two parameters or know the log's size, so it is said here.
_OUT_OF_RANGE = {
    "description": "A parameter is missing or not a whole number in range, or the numbers do "
    "not fit the log: a tree size larger than the log, a seq not below the tree size, an old "
    "size larger than the new one",
    "content": error_content(),
}

PATHS: dict[str, Any] = {
    "/api/v1/ledger/checkpoint": {
        "get": {
            "operationId": "getLatestCheckpoint",
            "tags": [TAG],
            "summary": "The most recent signed checkpoint (C2SP tlog-checkpoint signed note)",
            "description": "Tree size, root hash and the signed note verbatim, with the origin "
            "and key name it was signed under. Verify the note with the public key "
            "(getPublicKey), then check entries and proofs against its root.",
            "responses": {
                "200": ok("Checkpoint", "The latest checkpoint"),
                "404": NOT_FOUND,
            },
        }
    },
    "/api/v1/ledger/public-key": {
        "get": {
            "operationId": "getPublicKey",
            "tags": [TAG],
            "summary": "The Ed25519 key that signs checkpoints (vkey, PEM, raw base64)",
            "description": "The key as a C2SP signed-note verifier key (vkey), as PEM and as "
            "raw base64, with the log's origin. Takes no parameters.",
            "responses": {"200": ok("PublicKey", "The public key"), "4XX": CLIENT_ERROR},
        }
    },
    "/api/v1/ledger/entries": {
        "get": {
            "operationId": "listEntries",
            "tags": [TAG],
            "summary": "Entries in sequence order, paged by seq",
            "description": "Pass ``next_after_seq`` from one page as ``after_seq`` for the "
            "next; it is null on the last page. Each entry carries its leaf record (whose "
            "canonical JSON is the Merkle leaf input), leaf hash and chain hash.",
            "parameters": [
                {
                    "name": "campaign",
                    "in": "query",
                    "required": False,
                    "description": "Only this campaign's entries (its public id); empty means "
                    "every campaign",
                    "schema": TEXT_WITHOUT_NUL,
                },
                int_param(
                    "after_seq",
                    "Return entries with seq greater than this (default -1: from the start)",
                    required=False,
                    minimum=-1,
                ),
                int_param(
                    "limit", "Page size (default 100)", required=False, minimum=1, maximum=500
                ),
            ],
            "responses": {
                "200": ok("EntryPage", "A page of entries"),
                "400": BAD_REQUEST,
                "404": NOT_FOUND,
            },
        }
    },
    "/api/v1/ledger/entries/{seq}": {
        "get": {
            "operationId": "getEntry",
            "tags": [TAG],
            "summary": "One entry by its sequence number",
            "description": "The entry at leaf index ``seq``, as in listEntries. An index the "
            "log has not reached is a 404.",
            "parameters": [
                path_param("seq", int_schema(), "The entry's sequence number (leaf index)")
            ],
            "responses": {"200": ok("Entry", "The entry"), "404": NOT_FOUND},
        }
    },
    "/api/v1/ledger/tree-head": {
        "get": {
            "operationId": "getTreeHead",
            "tags": [TAG],
            "summary": "The RFC 9162 tree head (root hash) at a tree size",
            "description": "The Merkle tree hash over the first ``tree_size`` entries (RFC 9162 "
            "§2.1.1), by default over the whole ledger.",
            "parameters": [
                int_param("tree_size", "Tree size (default: the whole ledger)", required=False)
            ],
            "responses": {"200": ok("TreeHead", "The tree head"), "400": _OUT_OF_RANGE},
        }
    },
    "/api/v1/ledger/proofs/inclusion": {
        "get": {
            "operationId": "getInclusionProof",
            "tags": [TAG],
            "summary": "RFC 9162 inclusion proof of an entry in the tree of a given size",
            "description": "PATH(seq, D[tree_size]) of RFC 9162 §2.1.3, nearest sibling first, "
            "with the leaf hash and the root it leads to. ``seq`` must be below ``tree_size``.",
            "parameters": [
                int_param("seq", "The entry's sequence number (leaf index)", required=True),
                int_param("tree_size", "Tree size (default: the whole ledger)", required=False),
            ],
            "responses": {"200": ok("InclusionProof", "The proof"), "400": _OUT_OF_RANGE},
        }
    },
    "/api/v1/ledger/proofs/consistency": {
        "get": {
            "operationId": "getConsistencyProof",
            "tags": [TAG],
            "summary": "RFC 9162 consistency proof between two tree sizes",
            "description": "PROOF(old, D[new]) of RFC 9162 §2.1.4: shows that the tree of size "
            "``old`` is a prefix of the tree of size ``new``, so nothing was rewritten. "
            "``old`` must not exceed ``new``.",
            "parameters": [
                int_param("old", "The older tree size", required=True),
                int_param("new", "The newer tree size (default: the whole ledger)", required=False),
            ],
            "responses": {"200": ok("ConsistencyProof", "The proof"), "400": _OUT_OF_RANGE},
        }
    },
    "/api/v1/ledger/campaigns/{public_id}/summary": {
        "get": {
            "operationId": "getCampaignSummary",
            "tags": [TAG],
            "summary": "A campaign's money per currency, derived from the ledger",
            "description": "Gross raised, fees, refunds, disputes, disbursed and available per "
            "currency, summed from the postings of the campaign's fund account (minor units).",
            "parameters": [path_param("public_id", TEXT_WITHOUT_NUL, "The campaign's id")],
            "responses": {
                "200": ok("CampaignSummary", "The summary, amounts in minor units"),
                "404": NOT_FOUND,
            },
        }
    },
}

_POSTING = {
    "type": "object",
    "required": ["account", "amount", "currency"],
    "properties": {
        "account": {"type": "string", "examples": ["campaign:cmp_01HZX4A7:fund"]},
        "amount": {"type": "integer", "description": "Minor units; debit positive"},
        "currency": {"type": "string", "enum": ["CNY", "USD", "HKD", "EUR"]},
    },
}

_LEAF = {
    "type": "object",
    "description": "The leaf record; its RFC 8785 canonical JSON is the Merkle leaf input "
    "(docs/ledger-format.md §2)",
    "required": [
        "v",
        "seq",
        "campaign",
        "kind",
        "occurred_at",
        "postings",
        "ref",
        "memo",
        "reverses",
        "evidence",
        "donor_commitment",
    ],
    "properties": {
        "v": {"const": 1},
        "seq": {"type": "integer", "minimum": 0},
        "campaign": {"type": ["string", "null"]},
        "kind": {"type": "string"},
        "occurred_at": {"type": "string", "examples": ["2024-05-01T08:00:00.000000Z"]},
        "postings": {"type": "array", "items": _POSTING, "minItems": 1},
        "ref": {"type": ["string", "null"]},
        "memo": {"type": "string"},
        "reverses": {"type": ["integer", "null"]},
        "evidence": {"type": "array", "items": HEX_HASH},
        "donor_commitment": {"oneOf": [HEX_HASH, {"type": "null"}]},
    },
}

_MONEY = {"type": "integer", "description": "Minor units"}

SCHEMAS: dict[str, Any] = {
    "Checkpoint": {
        "type": "object",
        "required": ["tree_size", "root", "note", "created_at"],
        "properties": {
            "tree_size": {"type": "integer"},
            "root": HEX_HASH,
            "note": {"type": "string", "description": "The signed note, verbatim"},
            "created_at": {"type": "string", "format": "date-time"},
            "origin": {"type": "string", "description": "The origin it was signed under"},
            "key_name": {
                "type": "string",
                "description": "The key name it was signed under (with the public key, "
                "this gives the vkey that verifies it, even after the log was renamed)",
            },
        },
    },
    "PublicKey": {
        "type": "object",
        "required": ["origin", "key_name", "algorithm", "vkey", "public_key_pem"],
        "properties": {
            "origin": {"type": "string"},
            "key_name": {"type": "string"},
            "algorithm": {"const": "Ed25519"},
            "vkey": {"type": "string", "description": "name+keyid+base64(0x01 || key)"},
            "public_key_pem": {"type": "string"},
            "public_key_base64": {"type": "string"},
        },
    },
    "Entry": {
        "type": "object",
        "required": ["seq", "leaf", "leaf_hash", "chain_hash"],
        "properties": {
            "seq": {"type": "integer"},
            "leaf": _LEAF,
            "leaf_hash": HEX_HASH,
            "chain_hash": HEX_HASH,
        },
    },
    "EntryPage": {
        "type": "object",
        "required": ["entries", "next_after_seq"],
        "properties": {
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
            "next_after_seq": {
                "type": ["integer", "null"],
                "description": "Pass as after_seq for the next page; null on the last page",
            },
        },
    },
    "TreeHead": {
        "type": "object",
        "required": ["tree_size", "root"],
        "properties": {"tree_size": {"type": "integer"}, "root": HEX_HASH},
    },
    "InclusionProof": {
        "type": "object",
        "required": ["seq", "tree_size", "leaf_hash", "root", "proof"],
        "properties": {
            "seq": {"type": "integer"},
            "tree_size": {"type": "integer"},
            "leaf_hash": HEX_HASH,
            "root": HEX_HASH,
            "proof": {"type": "array", "items": HEX_HASH},
        },
    },
    "ConsistencyProof": {
        "type": "object",
        "required": ["old_size", "new_size", "old_root", "new_root", "proof"],
        "properties": {
            "old_size": {"type": "integer"},
            "new_size": {"type": "integer"},
            "old_root": HEX_HASH,
            "new_root": HEX_HASH,
            "proof": {"type": "array", "items": HEX_HASH},
        },
    },
    "CampaignSummary": {
        "type": "object",
        "required": ["campaign", "currencies"],
        "properties": {
            "campaign": {"type": "string"},
            "currencies": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": dict.fromkeys(
                        SUMMARY_FIELDS,
                        _MONEY,
                    ),
                },
            },
        },
    },
}
