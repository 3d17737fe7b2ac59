"""Disbursements over HTTP: request with evidence, decide, publish, and what strangers see."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.disbursements import queries, services
from giving.disbursements.models import Disbursement, DisbursementActivity, EvidenceFile
from giving.ledger.models import LedgerEntry
from tests.campaigns.factories import log_in
from tests.disbursements.support import Story, give, image_bytes, pdf_bytes, upload


def _as(client: FlaskClient, user: User | None) -> FlaskClient:
    if user is not None:
        log_in(client, user)
    return client


def evidence_slots(files: list[tuple[io.BytesIO, str]]) -> dict[str, Any]:
    """The upload form's evidence slots, one per file, each declared to show no child."""
    data: dict[str, Any] = {}
    for index, item in enumerate(files):
        data[f"evidence-{index}-file"] = item
        data[f"evidence-{index}-shows_children"] = "no"
    return data


def _form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "payee": "Liangshan Xinhua Bookshop",
        "amount": "300.50",
        "currency": "CNY",
        "category": "education",
        "spent_on": "2026-03-02",
        "description": "Textbooks for the autumn term",
        "groups_reached": "Grade 3 class",
        "people_reached": "32",
    }
    evidence = overrides.pop("evidence", [(io.BytesIO(pdf_bytes("invoice 1")), "invoice.pdf")])
    data.update(overrides)
    data.update(evidence_slots(evidence))
    return data


def _fetch(client: FlaskClient, url: str) -> tuple[int, bytes, dict[str, str]]:
    """GET a file and close the response (send_file keeps the file open until then)."""
    with client.get(url) as response:
        return response.status_code, response.get_data(), dict(response.headers)


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        for model in (Disbursement, EvidenceFile, DisbursementActivity, LedgerEntry)
    )


def _stored(story: Story) -> list[str]:
    root = story.storage.root
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _books(story: Story, suffix: str = "") -> str:
    return f"/finance/{story.campaign.public_id}{suffix}"


def test_an_organiser_requests_with_evidence_and_finance_approves(
    client: FlaskClient, session: Session, story: Story
) -> None:
    _as(client, story.organiser)
    page = client.get(_books(story, "/disbursements/new"))
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.get_data(as_text=True)
    response = client.post(
        _books(story, "/disbursements/new"),
        data=_form(
            evidence=[
                (io.BytesIO(pdf_bytes("invoice 1")), "invoice.pdf"),
                (io.BytesIO(image_bytes("JPEG")), "photo.jpg"),
            ]
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    disbursement = session.scalars(sa.select(Disbursement)).one()
    assert (disbursement.amount_minor, disbursement.people_reached) == (30_050, 32)
    assert len(disbursement.evidence) == 2
    assert len(_stored(story)) == 2

    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert disbursement.evidence[0].sha256 in detail
    assert "someone else has to decide" not in detail  # the organiser cannot decide anyway

    _as(client, story.finance)
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Approve and record in the ledger" in detail
    approved = client.post(
        _books(story, f"/disbursements/{disbursement.id}/approve"), data={"reason": "Checked"}
    )
    assert approved.status_code == 302
    session.expire_all()
    assert disbursement.state == "approved"
    assert session.get(LedgerEntry, disbursement.ledger_seq) is not None

    activity = client.get(_books(story, "/activity")).get_data(as_text=True)
    assert "Disbursement requested" in activity
    assert "Disbursement approved" in activity
    assert f"Ledger entry #{disbursement.ledger_seq}" in activity


def test_a_file_that_is_not_what_its_name_says_writes_nothing(
    client: FlaskClient, session: Session, story: Story
) -> None:
    _as(client, story.organiser)
    before = _counts(session)
    response = client.post(
        _books(story, "/disbursements/new"),
        data=_form(evidence=[(io.BytesIO(b"MZ\x90\x00" + b"\0" * 500), "invoice.pdf")]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "is not a PDF, JPEG, PNG or WebP file" in body
    assert 'value="Liangshan Xinhua Bookshop"' in body  # what was typed is kept
    assert _counts(session) == before
    assert _stored(story) == []


def test_a_chinese_organiser_typing_too_many_decimals_gets_the_decimal_hint_in_chinese(
    client: FlaskClient, session: Session, story: Story
) -> None:
    _as(client, story.organiser)
    response = client.post(
        _books(story, "/disbursements/new"),
        data=_form(amount="1.234"),
        content_type="multipart/form-data",
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 400
    assert "最多保留两位小数" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("amount", "message"),
    [("-5", "more than zero"), ("0", "more than zero"), ("1.234", "two decimal places")],
)
def test_negative_zero_and_inexact_amounts_are_refused(
    client: FlaskClient, session: Session, story: Story, amount: str, message: str
) -> None:
    _as(client, story.organiser)
    before = _counts(session)
    response = client.post(
        _books(story, "/disbursements/new"),
        data=_form(amount=amount),
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _counts(session) == before
    assert _stored(story) == []


def test_an_upload_over_the_limit_is_refused(
    make_app: Callable[..., Flask], session: Session, story: Story
) -> None:
    client = make_app(EVIDENCE_MAX_BYTES=1000).test_client()
    _as(client, story.organiser)
    before = _counts(session)
    big = pdf_bytes("x" * 1500)
    response = client.post(
        _books(story, "/disbursements/new"),
        data=_form(evidence=[(io.BytesIO(big), "invoice.pdf")]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "too large" in response.get_data(as_text=True)
    # A request body beyond the app's limit is refused before it is read.
    huge = client.post(
        _books(story, "/disbursements/new"),
        data=b"--x\r\n" + b"0" * (13 * 1024 * 1024),
        content_type="multipart/form-data; boundary=x",
    )
    assert huge.status_code == 413
    assert _counts(session) == before
    assert _stored(story) == []


def test_approving_beyond_the_balance_is_refused_with_a_clear_message(
    client: FlaskClient, session: Session, story: Story
) -> None:
    disbursement = story.request(150_000)
    before = _counts(session)
    _as(client, story.finance)
    response = client.post(_books(story, f"/disbursements/{disbursement.id}/approve"))
    assert response.status_code == 409
    assert "less than the 1500.00 CNY requested" in response.get_data(as_text=True)
    assert _counts(session) == before


def test_self_approval_and_approval_by_non_finance_users_are_forbidden(
    client: FlaskClient, session: Session, story: Story
) -> None:
    disbursement = story.request()
    url = _books(story, f"/disbursements/{disbursement.id}/approve")
    before = _counts(session)
    for user in (story.organiser, story.co_organiser, story.host_member, story.auditor):
        assert _as(client, user).post(url).status_code == 403
    # Someone who may not even read the books is told there is nothing there.
    assert _as(client, story.donor).post(url).status_code == 404
    assert _as(client, story.other_organiser).post(url).status_code == 404
    # An admin who asked for the money is refused too.
    own = story.request(actor=story.organiser)
    own.requested_by_id = story.admin.id
    session.flush()
    response = _as(client, story.admin).post(_books(story, f"/disbursements/{own.id}/approve"))
    assert response.status_code == 403
    assert "someone else" in response.get_data(as_text=True)
    assert _counts(session)[3] == before[3]


def test_a_rejection_without_a_reason_is_sent_back(
    client: FlaskClient, session: Session, story: Story
) -> None:
    disbursement = story.request()
    _as(client, story.finance)
    url = _books(story, f"/disbursements/{disbursement.id}")
    response = client.post(url + "/reject", data={"reason": ""})
    assert response.status_code == 400
    assert "Say why it is rejected." in response.get_data(as_text=True)
    assert client.post(url + "/reject", data={"reason": "Blurry"}).status_code == 302
    session.expire_all()
    assert disbursement.state == "rejected"


def test_the_public_sees_redacted_copies_and_digests_never_originals(
    client: FlaskClient, session: Session, story: Story
) -> None:
    disbursement = story.request(20_000)
    kept_private, published = disbursement.evidence[0], None
    services.add_evidence(
        session,
        actor=story.organiser,
        disbursement=disbursement,
        evidence=[upload(image_bytes("PNG"), "photo.png")],
        storage=story.storage,
    )
    published = disbursement.evidence[1]
    _as(client, story.organiser)
    response = client.post(
        _books(story, f"/evidence/{published.token}/redacted"),
        data={
            f"redacted-{published.id}-file": (io.BytesIO(image_bytes("PNG", (0, 0, 0))), "r.png"),
            f"redacted-{published.id}-caption": "Photo with faces blurred",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    session.commit()

    visitor = client.application.test_client()
    page = visitor.get(f"/c/{story.campaign.slug}/spending")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert kept_private.sha256 in body
    assert published.sha256 in body
    assert "Photo with faces blurred" in body
    assert "Liangshan Xinhua Bookshop" not in body  # payees are for the books only
    assert f"/evidence/{kept_private.token}/" not in body
    assert f"/evidence/{published.token}/original" not in body

    status, data, headers = _fetch(visitor, f"/evidence/{published.token}/redacted")
    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert headers["X-Original-SHA256"] == published.sha256
    assert "sandbox" in headers["Content-Security-Policy"]
    assert data != story.storage.read(published.storage_key)

    for token in (kept_private.token, published.token):
        assert _fetch(visitor, f"/evidence/{token}/original")[0] == 404
        assert _fetch(_as(visitor, story.donor), f"/evidence/{token}/original")[0] == 404
    assert _fetch(visitor, f"/evidence/{kept_private.token}/redacted")[0] == 404
    guessed = secrets.token_urlsafe(18)
    assert _fetch(visitor, f"/evidence/{guessed}/original")[0] == 404
    assert _fetch(visitor, f"/evidence/{guessed}/redacted")[0] == 404

    for reader in (story.auditor, story.organiser, story.host_member, story.admin):
        reader_client = _as(client.application.test_client(), reader)
        status, data, headers = _fetch(reader_client, f"/evidence/{kept_private.token}/original")
        assert status == 200
        assert data == story.storage.read(kept_private.storage_key)
        assert "no-store" in headers["Cache-Control"]
        assert headers["Content-Disposition"].startswith("attachment")


def test_redacted_copies_stay_private_until_the_request_is_approved(
    client: FlaskClient, session: Session, story: Story
) -> None:
    disbursement = story.request()
    evidence = disbursement.evidence[0]
    services.publish_redacted(
        session,
        actor=story.organiser,
        evidence=evidence,
        upload=upload(pdf_bytes("redacted")),
        storage=story.storage,
    )
    assert _fetch(client, f"/evidence/{evidence.token}/redacted")[0] == 404
    assert evidence.sha256 not in client.get(f"/c/{story.campaign.slug}/spending").get_data(
        as_text=True
    )
    status, _data, headers = _fetch(
        _as(client, story.finance), f"/evidence/{evidence.token}/redacted"
    )
    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment")


def test_budget_and_money_flow_pages(client: FlaskClient, session: Session, story: Story) -> None:
    _as(client, story.organiser)
    assert client.get(_books(story, "/budget")).status_code == 200
    bad = client.post(_books(story, "/budget"), data={"food": "-3", "education": "abc"})
    assert bad.status_code == 400
    assert (
        client.post(_books(story, "/budget"), data={"education": "800", "food": "0"}).status_code
        == 302
    )
    disbursement = story.request(30_000)
    services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    overview = client.get(_books(story)).get_data(as_text=True)
    for text in (
        "Budget and spending",
        "¥800.00",
        "¥300.00",
        "Held for the campaign now",
        "¥700.00",
    ):
        assert text in overview
    public = client.application.test_client().get(f"/c/{story.campaign.slug}/spending")
    assert "¥800.00" in public.get_data(as_text=True)
    assert _as(client, story.finance).get(_books(story, "/budget")).status_code == 403


def test_the_campaign_pages_link_the_books_and_show_the_money(
    client: FlaskClient, session: Session, story: Story
) -> None:
    disbursement = story.request(30_000, category="food")
    services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    page = client.get(f"/c/{story.campaign.slug}").get_data(as_text=True)
    assert "Where the money is" in page
    assert "¥700.00" in page  # held
    assert f"/c/{story.campaign.slug}/spending" in page
    manage = _as(client, story.organiser).get(f"/my/campaigns/{story.campaign.public_id}")
    body = manage.get_data(as_text=True)
    assert f"Hosted by {escape(story.host.name)}" in body
    assert f"/finance/{story.campaign.public_id}" in body


def test_the_receipt_partial_shows_what_a_gift_paid_for(
    app: Flask, session: Session, story: Story
) -> None:
    gift = give(session, story.campaign, 20_000, fee_minor=500)
    for amount in (100_000, 5_000):
        disbursement = story.request(amount, category="health" if amount == 5_000 else "food")
        services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    # The view reads the trace (stored FIFO allocations) and the partial only formats it.
    with app.test_request_context():
        html = render_template_string(
            '{% include "disbursements/_where_money_went.html" %}',
            trace=queries.donation_trace(session, gift),
            campaign=story.campaign,
            heading_level=4,
        )
    assert "<h4" in html
    assert "Where this gift went" in html
    assert "Health" in html
    assert "¥50.00" in html  # the 50.00 health payment came from this gift
    assert "¥5.00" in html  # its processor fee
    assert "¥145.00" in html  # still held
    assert "Food" not in html  # the food payment was paid by the older gift
    with app.test_request_context():
        assert (
            render_template_string(
                '{% include "disbursements/_where_money_went.html" %}', trace=None
            ).strip()
            == ""
        )


def test_the_public_never_sees_an_exact_head_count(
    client: FlaskClient, session: Session, story: Story
) -> None:
    for people in (7, 32):
        disbursement = story.request(10_000, people_reached=people)
        services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    body = client.get(f"/c/{story.campaign.slug}/spending").get_data(as_text=True)
    assert "Grade 3 class" in body
    assert "fewer than 10" in body
    assert "people: 7" not in body
    assert "people: 32" not in body


def test_the_spending_page_lists_payments_a_page_at_a_time_newest_first(
    client: FlaskClient, session: Session, story: Story
) -> None:
    approved = []
    for n in range(23):
        disbursement = story.request(1_000 + n, description=f"Payment number {n:02d}")
        services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
        approved.append(disbursement)
    spending = f"/c/{story.campaign.slug}/spending"

    first = client.get(spending).get_data(as_text=True)
    assert [f"Payment number {n:02d}" in first for n in range(23)] == [False] * 3 + [True] * 20
    assert first.index("Payment number 22") < first.index("Payment number 03")
    older = f"{spending}?before={approved[3].id}"
    assert f'href="{older}"' in first

    second = client.get(older).get_data(as_text=True)
    assert [f"Payment number {n:02d}" in second for n in range(23)] == [True] * 3 + [False] * 20
    assert "Older payments" not in second
    assert f'href="{spending}"' in second  # back to the latest

    for bad in ("0", "-1", "x", "9" * 40, "１２", str(2**31), "00000000001"):
        refused = client.get(f"{spending}?before={bad}")
        assert refused.status_code == 400
        assert "payment number" in refused.get_data(as_text=True)
