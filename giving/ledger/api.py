"""Public JSON API of the ledger under /api/v1/ledger (described in giving/ledger/openapi.py).

GET only, no login, no personal data (leaves carry none), so it needs no CSRF token. Every
bad parameter is a ValidationError, which giving/errorpages.py renders as HTTP 400 JSON
``{"error", "message", "status"}``; an unknown campaign or entry is a 404 the same way.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _

from giving.config import current_settings
from giving.errors import NotFound, ValidationError
from giving.inputs import query_int
from giving.ledger.balances import campaign_summary
from giving.ledger.keys import (
    ledger_origin,
    load_signing_key,
    public_key_base64,
    public_key_pem,
    vkey_text,
)
from giving.ledger.queries import campaign_exists, entry_page, published_entry
from giving.ledger.services import latest_checkpoint, signed_under
from giving.ledger.tree import LedgerTree
from giving.web import db_session

bp = Blueprint("ledger_api", __name__, url_prefix="/api/v1")

DEFAULT_PAGE = 100
MAX_PAGE = 500


def _hashes(values: list[bytes]) -> list[str]:
    return [value.hex() for value in values]


@bp.get("/ledger/checkpoint")
def latest() -> Response:
    """The most recent signed checkpoint: tree size, root hash and the signed note."""
    checkpoint = latest_checkpoint(db_session())
    if checkpoint is None:
        raise NotFound(_("No checkpoint has been published yet"))
    # What it was signed under, which may predate the log's present name (GIVING_LEDGER_ORIGIN).
    origin, key_name = signed_under(checkpoint)
    return jsonify(
        {
            "tree_size": checkpoint.tree_size,
            "root": checkpoint.root.hex(),
            "note": checkpoint.note,
            "created_at": checkpoint.created_at.isoformat().replace("+00:00", "Z"),
            "origin": origin,
            "key_name": key_name,
        }
    )


@bp.get("/ledger/public-key")
def public_key() -> Response:
    """The key checkpoints are signed with, as a signed-note vkey, PEM and raw base64."""
    config = current_settings()
    key = load_signing_key(config)
    return jsonify(
        {
            "origin": ledger_origin(config),
            "key_name": ledger_origin(config),
            "algorithm": "Ed25519",
            "vkey": vkey_text(config, key),
            "public_key_pem": public_key_pem(key),
            "public_key_base64": public_key_base64(key),
        }
    )


@bp.get("/ledger/entries")
def entries() -> Response:
    """Entries in seq order, paged by seq: pass ``next_after_seq`` back as ``after_seq``."""
    session = db_session()
    campaign = request.args.get("campaign") or None
    after_seq = query_int("after_seq", default=-1, minimum=-1)
    limit = query_int("limit", default=DEFAULT_PAGE, minimum=1)
    if limit > MAX_PAGE:
        raise ValidationError(
            _("The parameter limit may be at most %(maximum)d", maximum=MAX_PAGE), field="limit"
        )
    if campaign is not None and not campaign_exists(session, campaign):
        raise NotFound(_("There is no campaign %(campaign)s", campaign=campaign))
    page = entry_page(session, campaign=campaign, after_seq=after_seq, limit=limit)
    return jsonify(
        {
            "entries": [entry.to_json() for entry in page.entries],
            "next_after_seq": page.next_after_seq,
        }
    )


@bp.get("/ledger/entries/<int64:seq>")
def entry(seq: int) -> Response:
    found = published_entry(db_session(), seq)
    if found is None:
        raise NotFound(_("There is no entry %(seq)d", seq=seq))
    return jsonify(found.to_json())


@bp.get("/ledger/tree-head")
def tree_head() -> Response:
    """The RFC 9162 tree head at ``tree_size`` (default: the whole ledger)."""
    tree = LedgerTree(db_session())
    size = query_int("tree_size", default=tree.size)
    return jsonify({"tree_size": size, "root": tree.root(size).hex()})


@bp.get("/ledger/proofs/inclusion")
def inclusion() -> Response:
    """PATH(seq, D[tree_size]) of RFC 9162, nearest sibling first."""
    tree = LedgerTree(db_session())
    seq = query_int("seq")
    size = query_int("tree_size", default=tree.size)
    proof = tree.inclusion_proof(seq, size)
    return jsonify(
        {
            "seq": seq,
            "tree_size": size,
            "leaf_hash": tree.leaf_hash(seq).hex(),
            "root": tree.root(size).hex(),
            "proof": _hashes(proof),
        }
    )


@bp.get("/ledger/proofs/consistency")
def consistency() -> Response:
    """PROOF(old, D[new]) of RFC 9162: the tree of size ``old`` is a prefix of ``new``."""
    tree = LedgerTree(db_session())
    old = query_int("old")
    new = query_int("new", default=tree.size)
    proof = tree.consistency_proof(old, new)
    return jsonify(
        {
            "old_size": old,
            "new_size": new,
            "old_root": tree.root(old).hex(),
            "new_root": tree.root(new).hex(),
            "proof": _hashes(proof),
        }
    )


@bp.get("/ledger/campaigns/<public_id>/summary")
def summary(public_id: str) -> Response:
    """A campaign's money per currency, derived from its fund's postings (minor units)."""
    session = db_session()
    if not campaign_exists(session, public_id):
        raise NotFound(_("There is no campaign %(campaign)s", campaign=public_id))
    result = campaign_summary(session, public_id)
    return jsonify(
        {
            "campaign": public_id,
            "currencies": {
                currency: {
                    "gross_raised": s.gross_raised,
                    "processor_fees": s.processor_fees,
                    "platform_fees": s.platform_fees,
                    "refunds": s.refunds,
                    "disputes": s.disputes,
                    "disbursed": s.disbursed,
                    "available": s.available,
                }
                for currency, s in result.currencies.items()
            },
        }
    )
