"""Reports over HTTP: the transparency page, publishing, logged downloads, verification (page
and API), the render-progress endpoint, the auditor dashboard and the admin's grants page."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from giving.accounts.models import User
from giving.auditors import services as auditor_grants
from giving.auditors.models import AuditorGrant
from giving.db import transaction, utcnow
from giving.disbursements.models import WithheldReason
from giving.reports import services
from giving.reports.models import ReportDownload, ReportRenderJob, ReportVersion
from tests.campaigns.factories import log_in
from tests.reports.support import ReportStory

pytestmark = pytest.mark.slow


def _as(client: FlaskClient, user: User | None) -> FlaskClient:
    if user is not None:
        log_in(client, user)
    return client


def _publish(client: FlaskClient, rstory: ReportStory, languages: list[str]) -> list[ReportVersion]:
    response = _as(client, rstory.story.organiser).post(
        f"/c/{rstory.campaign.slug}/transparency/publish", data={"languages": languages}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    rstory.session.expire_all()
    return list(
        rstory.session.scalars(
            sa.select(ReportVersion)
            .where(ReportVersion.campaign_id == rstory.campaign.id)
            .order_by(ReportVersion.language)
        )
    )


def _downloads(rstory: ReportStory) -> list[tuple[str, int | None]]:
    rstory.session.expire_all()
    rows = rstory.session.scalars(
        sa.select(ReportDownload)
        .where(ReportDownload.campaign_id == rstory.campaign.id)
        .order_by(ReportDownload.id)
    )
    return [(row.kind, row.user_id) for row in rows]


def test_an_organiser_publishes_and_anyone_downloads_a_logged_report(
    rstory: ReportStory, client: FlaskClient, app: Flask
) -> None:
    page = client.get(f"/c/{rstory.campaign.slug}/transparency")
    assert page.status_code == 200
    assert "No report has been published" in page.get_data(as_text=True)
    assert "Publish report version" not in page.get_data(as_text=True)

    versions = _publish(client, rstory, ["en", "zh"])
    assert [v.language for v in versions] == ["en", "zh"]
    page = client.get(f"/c/{rstory.campaign.slug}/transparency").get_data(as_text=True)
    assert "PDF in English" in page
    assert "PDF in Chinese" in page
    assert versions[0].sha256 in page
    assert "Publish report version" in page  # the organiser may publish the next one

    visitor = app.test_client()
    with visitor.get(f"/reports/{versions[1].id}/report.pdf") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert hashlib.sha256(response.data).hexdigest() == versions[1].sha256
        assert "-report-v1-zh.pdf" in response.headers["Content-Disposition"]
    assert _downloads(rstory) == [("report", None)]


def test_exports_download_and_each_download_is_logged(
    rstory: ReportStory, client: FlaskClient
) -> None:
    services.checkpoint_covering_ledger(rstory.session, rstory.key, rstory.settings)
    with transaction(rstory.session):
        pass
    slug = rstory.campaign.slug
    log_in(client, rstory.story.donor)

    def fetch(kind: str) -> tuple[int, bytes]:
        with client.get(f"/c/{slug}/exports/{kind}") as response:
            return response.status_code, response.data

    status, body = fetch("ledger.csv")
    assert status == 200
    assert body.decode("utf-8-sig").startswith("seq,occurred_at,kind,")
    lines = fetch("ledger.jsonl")[1].splitlines()
    assert len(lines) == 12
    assert json.loads(lines[0])["tree_size"] == 12
    assert fetch("checkpoint.txt")[1].decode().splitlines()[1] == "12"
    status, body = fetch("iati-activity.xml")
    assert status == 200
    assert b"<iati-activities" in body
    assert fetch("secrets.txt")[0] == 404
    donor = rstory.story.donor.id
    assert _downloads(rstory) == [
        ("csv", donor),
        ("jsonl", donor),
        ("checkpoint", donor),
        ("iati", donor),
    ]


def test_the_verification_page_and_api_say_what_a_file_or_hash_is(
    rstory: ReportStory, client: FlaskClient, app: Flask
) -> None:
    (version,) = _publish(client, rstory, ["en"])
    data = services.report_storage(app).read(version.file_key)
    visitor = app.test_client()
    assert visitor.get("/verify").status_code == 200

    found = visitor.post("/verify", data={"file": (io.BytesIO(data), "report.pdf")})
    assert found.status_code == 200
    assert "This is a published report" in found.get_data(as_text=True)
    assert rstory.campaign.title in found.get_data(as_text=True)

    by_hash = visitor.post("/verify", data={"sha256": version.sha256})
    assert "This is a published report" in by_hash.get_data(as_text=True)
    unknown = visitor.post("/verify", data={"sha256": "ab" * 32})
    assert "Not a published report" in unknown.get_data(as_text=True)

    not_pdf = visitor.post("/verify", data={"file": (io.BytesIO(b"hello"), "report.pdf")})
    assert not_pdf.status_code == 400
    assert "That file is not a PDF" in not_pdf.get_data(as_text=True)
    nothing = visitor.post("/verify", data={})
    assert nothing.status_code == 400
    assert "Choose the report file, or type its SHA-256." in nothing.get_data(as_text=True)
    bad_hash = visitor.post("/verify", data={"sha256": "xyz"})
    assert bad_hash.status_code == 400
    assert "64 hexadecimal characters" in bad_hash.get_data(as_text=True)

    api = visitor.get(f"/api/v1/reports/verify?sha256={version.sha256}").get_json()
    assert api["published"] is True
    assert api["campaign"]["public_id"] == rstory.campaign.public_id
    assert api["version"] == 1
    assert api["tree_size"] == version.tree_size
    posted = visitor.post(
        "/api/v1/reports/verify", data={"file": (io.BytesIO(data), "r.pdf")}
    ).get_json()
    assert posted["published"] is True, (posted, version.sha256, hashlib.sha256(data).hexdigest())
    assert visitor.get("/api/v1/reports/verify?sha256=" + "0" * 64).get_json() == {
        "sha256": "0" * 64,
        "published": False,
    }
    refused = visitor.post("/api/v1/reports/verify", data={"file": (io.BytesIO(b"x"), "x")})
    assert refused.status_code == 400
    assert "not a PDF" in refused.get_json()["message"]
    assert visitor.get("/api/v1/reports/verify").status_code == 400


def test_publishing_needs_an_organiser_and_entries(
    rstory: ReportStory, client: FlaskClient, app: Flask
) -> None:
    slug = rstory.campaign.slug
    anonymous = app.test_client().post(
        f"/c/{slug}/transparency/publish", data={"languages": ["en"]}
    )
    assert anonymous.status_code in (302, 401)
    outsider = _as(app.test_client(), rstory.story.donor).post(
        f"/c/{slug}/transparency/publish", data={"languages": ["en"]}
    )
    assert outsider.status_code == 403
    assert "organisers and its host organisation can publish reports" in outsider.get_data(
        as_text=True
    )
    empty = rstory.story.other_campaign
    log_in(client, rstory.story.other_organiser)
    page = client.get(f"/c/{empty.slug}/transparency").get_data(as_text=True)
    assert "once the campaign has entries in the ledger" in page
    refused = client.post(f"/c/{empty.slug}/transparency/publish", data={"languages": ["en"]})
    assert refused.status_code == 400
    assert "has no ledger entries yet" in refused.get_data(as_text=True)


def test_render_progress_is_reported_as_json(
    rstory: ReportStory, client: FlaskClient, app: Flask
) -> None:
    with app.test_request_context(), transaction(rstory.session):
        (job,) = services.request_publication(
            rstory.session,
            actor=rstory.story.organiser,
            campaign=rstory.campaign,
            languages=["zh"],
            settings=rstory.settings,
            key=rstory.key,
        )
    log_in(client, rstory.story.organiser)
    page = client.get(f"/c/{rstory.campaign.slug}/transparency").get_data(as_text=True)
    assert f'data-status-url="/reports/jobs/{job.id}"' in page
    assert "reports.js" in page
    assert "<script>" not in page  # no inline script: the CSP forbids it
    status = client.get(f"/reports/jobs/{job.id}")
    assert status.get_json()["state"] == "queued"
    assert status.get_json()["progress"] == 0
    assert status.headers["Cache-Control"] == "no-store"
    assert client.get("/reports/jobs/999999").status_code == 404
    assert rstory.session.get(ReportRenderJob, job.id) is not None


def test_an_auditor_sees_granted_campaigns_signs_off_and_downloads_evidence(
    rstory: ReportStory, client: FlaskClient, app: Flask
) -> None:
    (version,) = _publish(client, rstory, ["en"])
    auditor = rstory.story.auditor
    auditor_client = _as(app.test_client(), auditor)
    assert "no current access" in auditor_client.get("/auditor").get_data(as_text=True)
    with transaction(rstory.session):
        auditor_grants.grant_access(
            rstory.session,
            actor=rstory.story.admin,
            auditor=auditor,
            campaign=rstory.campaign,
            expires_at=utcnow() + dt.timedelta(days=10),
        )
    dashboard = auditor_client.get("/auditor").get_data(as_text=True)
    assert rstory.campaign.title in dashboard
    assert version.sha256 in dashboard
    assert rstory.disbursement is not None
    evidence = rstory.disbursement.evidence[0]
    assert evidence.sha256 in dashboard

    signed = auditor_client.post(
        f"/auditor/versions/{version.id}/sign-off",
        data={f"v{version.id}-statement": "All charges matched."},
    )
    assert signed.status_code == 303
    assert "You signed this version off." in auditor_client.get("/auditor").get_data(as_text=True)
    page = app.test_client().get(f"/c/{rstory.campaign.slug}/transparency").get_data(as_text=True)
    assert "All charges matched." in page
    assert "Auditor Sun" in page

    download = auditor_client.get(f"/auditor/evidence/{evidence.token}")
    assert download.status_code == 303
    assert download.headers["Location"].endswith(f"/evidence/{evidence.token}/original")
    assert ("evidence", auditor.id) in _downloads(rstory)
    rows = rstory.session.scalars(
        sa.select(ReportDownload).where(ReportDownload.kind == "evidence")
    )
    assert all(row.as_auditor for row in rows)

    assert _as(app.test_client(), rstory.story.donor).get("/auditor").status_code == 403

    # A file withheld when a guardian's consent ended: the dashboard says so, and following
    # it logs no download (there is nothing to download) and ends on the 410 page.
    evidence.shows_children = True
    evidence.withheld_at = utcnow()
    evidence.withheld_reason = WithheldReason.CONSENT_WITHDRAWN.value
    rstory.session.commit()
    logged = len(_downloads(rstory))
    dashboard = auditor_client.get("/auditor").get_data(as_text=True)
    assert "Withheld on" in dashboard
    assert evidence.sha256 in dashboard
    withheld = auditor_client.get(f"/auditor/evidence/{evidence.token}", follow_redirects=True)
    assert withheld.status_code == 410
    assert "guardian consent withdrawn" in withheld.get_data(as_text=True)
    assert len(_downloads(rstory)) == logged


def test_an_admin_grants_and_ends_auditor_access(
    rstory: ReportStory, client: FlaskClient, app: Flask
) -> None:
    admin_client = _as(client, rstory.story.admin)
    assert admin_client.get("/admin/auditors").status_code == 200
    assert _as(app.test_client(), rstory.story.organiser).get("/admin/auditors").status_code == 403
    until = (utcnow() + dt.timedelta(days=30)).date().isoformat()
    granted = admin_client.post(
        "/admin/auditors",
        data={
            "auditor_email": rstory.story.auditor.email.upper(),
            "campaign": rstory.campaign.public_id,
            "expires_on": until,
        },
    )
    assert granted.status_code == 303
    rstory.session.expire_all()
    grant = rstory.session.scalar(sa.select(AuditorGrant))
    assert grant is not None
    assert auditor_grants.has_auditor_access(rstory.session, rstory.story.auditor, rstory.campaign)

    not_auditor = admin_client.post(
        "/admin/auditors",
        data={
            "auditor_email": rstory.story.donor.email,
            "campaign": rstory.campaign.slug,
            "expires_on": until,
        },
    )
    assert not_auditor.status_code == 400
    assert "is not an auditor" in not_auditor.get_data(as_text=True)
    unknown = admin_client.post(
        "/admin/auditors",
        data={"auditor_email": rstory.story.auditor.email, "campaign": "nope", "expires_on": until},
    )
    assert unknown.status_code == 400
    assert "There is no campaign" in unknown.get_data(as_text=True)

    ended = admin_client.post(f"/admin/auditors/{grant.id}/revoke")
    assert ended.status_code == 303
    rstory.session.expire_all()
    assert not auditor_grants.has_auditor_access(
        rstory.session, rstory.story.auditor, rstory.campaign
    )
