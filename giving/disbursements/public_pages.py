"""Public spending pages and evidence files.

The public sees approved spending with its category, amount, date, description and the
groups reached, the redacted evidence copies organisers published, and the SHA-256 of every
original (the same digests the ledger entry carries). Originals are served only to the
campaign's books readers; for everyone else they do not exist (404). A withheld original
(guardian consent withdrawn) answers those readers with a page saying so (410 Gone).
"""

from __future__ import annotations

from flask import abort, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from giving.accounts.current import current_actor
from giving.campaigns.queries import campaign_by_slug
from giving.disbursements import queries
from giving.disbursements.access import can_view_books
from giving.disbursements.evidence import ACCEPTED_TYPES
from giving.disbursements.models import EvidenceFile
from giving.disbursements.uploads import evidence_storage
from giving.hosts.services import host_of
from giving.impact.queries import disbursements_reaching_children
from giving.inputs import INT32_MAX
from giving.web import db_session

# Files are data, never pages: no scripts, no plugins, no framing, even if a browser sniffs.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def spending(slug: str) -> ResponseReturnValue:
    session = db_session()
    actor = current_actor()
    campaign = campaign_by_slug(session, slug, actor=actor)
    page = queries.public_disbursements(session, campaign, before=_before_arg())
    return render_template(
        "disbursements/public.html",
        campaign=campaign,
        host=host_of(session, campaign),
        disbursements=page.items,
        reaching_children=disbursements_reaching_children(session, [d.id for d in page.items]),
        older_than=page.older_than,
        paged=request.args.get("before") is not None,
        money_flow=queries.campaign_money_flow(session, campaign),
        budget_rows=queries.budget_vs_actual(session, campaign),
        can_view_books=can_view_books(session, actor, campaign),
    )


def _before_arg() -> int | None:
    raw = request.args.get("before")
    if raw is None:
        return None
    # Ids are INTEGER columns: PostgreSQL refuses to compare one with a larger number.
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not 1 <= int(raw) <= INT32_MAX:
        abort(400, description=_("“before” must be a payment number of 1 or more."))
    return int(raw)


def _serve(evidence: EvidenceFile, key: str, content_type: str, *, public: bool) -> Response:
    try:
        handle = evidence_storage().open(key)
    except FileNotFoundError:
        abort(404)
    suffix = ACCEPTED_TYPES.get(content_type, (".bin", None))[0]
    kind = "redacted" if public else "original"
    # Keys are random and a stored file is never rewritten: the key is a perfect ETag.
    response = send_file(
        handle,
        mimetype=content_type,
        as_attachment=content_type == "application/pdf",
        download_name=f"evidence-{evidence.id}-{kind}{suffix}",
        conditional=True,
        etag=key,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.public = False
    response.cache_control.private = True
    if not public:
        response.cache_control.no_store = True
    return response


def original_file(token: str) -> ResponseReturnValue:
    evidence = queries.original_for(db_session(), token, actor=current_actor())
    if evidence.is_withheld:
        # The bytes are gone; say why and since when, rather than "not found".
        page = render_template(
            "disbursements/withheld.html",
            evidence=evidence,
            reason=evidence.withheld_reason_enum,
        )
        return page, 410
    return _serve(evidence, evidence.storage_key, evidence.content_type, public=False)


def redacted_file(token: str) -> ResponseReturnValue:
    evidence = queries.redacted_for(db_session(), token, actor=current_actor())
    assert evidence.redacted_key is not None
    assert evidence.redacted_content_type is not None
    response = _serve(evidence, evidence.redacted_key, evidence.redacted_content_type, public=True)
    # The ledger commits to the original's digest; say which original this copy stands for.
    response.headers["X-Original-SHA256"] = evidence.sha256
    return response
