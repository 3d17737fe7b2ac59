"""The disbursements blueprint: which URL runs which page, and the template helpers.

Private pages (the campaign's books) live under ``/finance/<public id>`` and are handled in
``finance_pages`` and ``evidence_pages``; the public spending page and evidence files in
``public_pages``. The partials ``disbursements/_budget.html``, ``_money_flow.html`` and
``_where_money_went.html`` can be included from other packages' pages, which pass the
figures in.
"""

from __future__ import annotations

from flask import Blueprint

from giving.disbursements import evidence_pages as ev
from giving.disbursements import finance_pages as fin
from giving.disbursements import public_pages as pub

bp = Blueprint("disbursements", __name__)

_GET = ["GET"]
_POST = ["POST"]
_FORM = ["GET", "POST"]
_BOOKS = "/finance/<public_id>"
_REQUEST = _BOOKS + "/disbursements/<int:disbursement_id>"

# Public.
bp.add_url_rule("/c/<slug>/spending", "spending", pub.spending, methods=_GET)
bp.add_url_rule("/evidence/<token>/redacted", "redacted_file", pub.redacted_file, methods=_GET)
bp.add_url_rule("/evidence/<token>/original", "original_file", pub.original_file, methods=_GET)

# The campaign's books.
bp.add_url_rule(_BOOKS, "overview", fin.overview, methods=_GET)
bp.add_url_rule(_BOOKS + "/activity", "activity", fin.activity, methods=_GET)
bp.add_url_rule(_BOOKS + "/budget", "edit_budget", fin.edit_budget, methods=_FORM)
bp.add_url_rule(_BOOKS + "/disbursements/new", "new_request", fin.new_request, methods=_FORM)
bp.add_url_rule(_REQUEST, "show_request", fin.show_request, methods=_GET)
bp.add_url_rule(_REQUEST + "/approve", "approve", fin.approve, methods=_POST)
bp.add_url_rule(_REQUEST + "/reject", "reject", fin.reject, methods=_POST)
bp.add_url_rule(_REQUEST + "/reverse", "reverse", fin.reverse, methods=_POST)
bp.add_url_rule(_REQUEST + "/evidence", "add_evidence", ev.add_evidence, methods=_POST)
bp.add_url_rule(
    _BOOKS + "/evidence/<token>/redacted", "publish_redacted", ev.publish_redacted, methods=_POST
)
bp.add_url_rule(
    _BOOKS + "/evidence/<token>/redacted/withdraw",
    "withdraw_public_copy",
    ev.withdraw_public_copy,
    methods=_POST,
)
bp.add_url_rule(
    _BOOKS + "/evidence/<token>/shows-children",
    "declare_shows_children",
    ev.declare_shows_children,
    methods=_POST,
)
