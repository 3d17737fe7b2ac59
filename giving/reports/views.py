"""The reports blueprint: which URL runs which page (handlers in public_pages/auditor_pages).

Public: a campaign's transparency page (report versions, sign-offs, export downloads),
report and export downloads (each one logged), the verification page and its JSON API, and
the render-progress endpoint the page's script polls. Auditors: the dashboard, sign-offs and
logged evidence downloads. Admins: granting and revoking time-limited auditor access.
"""

from __future__ import annotations

from flask import Blueprint

from giving.extensions import csrf
from giving.reports import auditor_pages as aud
from giving.reports import public_pages as pub

bp = Blueprint("reports", __name__)

_GET = ["GET"]
_POST = ["POST"]
_FORM = ["GET", "POST"]

bp.add_url_rule("/c/<slug>/transparency", "transparency", pub.transparency, methods=_GET)
bp.add_url_rule("/c/<slug>/transparency/publish", "publish", pub.publish, methods=_POST)
bp.add_url_rule("/c/<slug>/exports/<kind>", "export", pub.export_download, methods=_GET)
bp.add_url_rule("/reports/<int:version_id>/report.pdf", "download", pub.download, methods=_GET)
bp.add_url_rule("/reports/jobs/<int:job_id>", "job_status", pub.job_status, methods=_GET)
bp.add_url_rule("/verify", "verify_page", pub.verify_page, methods=_FORM)
bp.add_url_rule("/api/v1/reports/verify", "verify_api", pub.verify_api, methods=["GET", "POST"])
csrf.exempt(pub.verify_api)  # a read-only lookup that changes nothing and uses no cookie

bp.add_url_rule("/auditor", "dashboard", aud.dashboard, methods=_GET)
bp.add_url_rule(
    "/auditor/versions/<int:version_id>/sign-off", "sign_off", aud.sign_off, methods=_POST
)
bp.add_url_rule("/auditor/evidence/<token>", "evidence", aud.evidence_original, methods=_GET)
bp.add_url_rule("/admin/auditors", "grants", aud.grants, methods=_FORM)
bp.add_url_rule(
    "/admin/auditors/<int:grant_id>/revoke", "revoke_grant", aud.revoke_grant, methods=_POST
)
