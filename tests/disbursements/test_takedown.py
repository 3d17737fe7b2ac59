"""Putting evidence right after the fact: a public copy taken down (an address left visible),
and a file declared later to show a child (kept private, or withheld without consent)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.db import transaction
from giving.disbursements import services
from giving.disbursements.models import (
    DisbursementActivity,
    EvidenceChild,
    EvidenceFile,
)
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.impact.models import BeneficiaryChild
from giving.ledger.verify import verify_ledger
from tests.campaigns.factories import log_in
from tests.disbursements.support import Story, image_bytes, pdf_bytes, upload
from tests.impact.support import TEST_DATA_KEY, register


@pytest.fixture
def app(make_app: Callable[..., Flask], app_config: dict[str, Any]) -> Flask:
    # The detail page lists the registry's children, decrypted with the test key.
    return make_app(GIVING_DATA_KEY=TEST_DATA_KEY, **app_config)


def published_photo(story: Story, *, approve: bool = True) -> EvidenceFile:
    """A photo uploaded as showing no child, with a published redacted copy; committed."""
    session = story.session
    with transaction(session):
        disbursement = story.request(
            evidence=[upload(image_bytes("JPEG", (10, 200, 10)), "goods.jpg")]
        )
        evidence = disbursement.evidence[0]
        services.publish_redacted(
            session,
            actor=story.organiser,
            evidence=evidence,
            upload=upload(image_bytes("PNG", (0, 0, 0)), "goods-redacted.png"),
            caption="Rice and oil delivered",
            storage=story.storage,
        )
        if approve:
            services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    return evidence


def steps(session: Session, kind: str) -> list[DisbursementActivity]:
    return list(
        session.scalars(
            sa.select(DisbursementActivity)
            .where(DisbursementActivity.kind == kind)
            .order_by(DisbursementActivity.id)
        )
    )


def fetch(client: FlaskClient, url: str) -> int:
    with client.get(url) as response:
        return response.status_code


def as_user(client: FlaskClient, user: User) -> FlaskClient:
    log_in(client, user)
    return client


def declare(story: Story, evidence: EvidenceFile, *children: BeneficiaryChild) -> None:
    with transaction(story.session):
        services.declare_shows_children(
            story.session,
            actor=story.organiser,
            evidence=evidence,
            children=[child.ref for child in children],
            storage=story.storage,
        )


# --- taking a public copy down -------------------------------------------------------------


def test_taking_a_copy_down_deletes_it_clears_its_fields_and_logs_the_reason(
    client: FlaskClient, session: Session, story: Story
) -> None:
    evidence = published_photo(story)
    redacted_key, redacted_sha = evidence.redacted_key, evidence.redacted_sha256
    assert redacted_key is not None
    public_url = f"/evidence/{evidence.token}/redacted"
    assert fetch(client, public_url) == 200

    with transaction(session):
        services.withdraw_public_copy(
            session,
            actor=story.organiser,
            evidence=evidence,
            reason="  The shop's address is still readable.  ",
            storage=story.storage,
        )

    assert not story.storage.exists(redacted_key)
    assert story.storage.exists(evidence.storage_key)  # the original stays, privately
    assert (
        evidence.redacted_key,
        evidence.redacted_content_type,
        evidence.redacted_size_bytes,
        evidence.redacted_sha256,
        evidence.published_at,
        evidence.published_by_id,
        evidence.caption,
    ) == (None, None, None, None, None, None, "")
    assert fetch(client, public_url) == 404
    spending = client.get(f"/c/{story.campaign.slug}/spending").get_data(as_text=True)
    assert "Rice and oil delivered" not in spending
    assert evidence.sha256 in spending  # the digest stays public with the ledger entry
    [step] = steps(session, "evidence_unpublished")
    assert step.actor_id == story.organiser.id
    assert step.disbursement_id == evidence.disbursement_id
    assert step.detail == {
        "evidence": evidence.sha256,
        "redacted": redacted_sha,
        "reason": "The shop's address is still readable.",
    }
    assert verify_ledger(session, None).entries >= 1
    # A better copy may be published again.
    services.publish_redacted(
        session,
        actor=story.organiser,
        evidence=evidence,
        upload=upload(image_bytes("PNG", (1, 1, 1)), "better.png"),
        storage=story.storage,
    )
    assert evidence.is_published


def test_a_take_down_needs_a_reason_and_a_public_copy(session: Session, story: Story) -> None:
    evidence = published_photo(story)
    for reason in ("", "   "):
        with pytest.raises(ValidationError, match="Say why") as refused:
            services.withdraw_public_copy(
                session,
                actor=story.organiser,
                evidence=evidence,
                reason=reason,
                storage=story.storage,
            )
        assert refused.value.field == "reason"
    with pytest.raises(ValidationError, match="at most 2000"):
        services.withdraw_public_copy(
            session,
            actor=story.organiser,
            evidence=evidence,
            reason="x" * 2001,
            storage=story.storage,
        )
    assert evidence.is_published
    assert steps(session, "evidence_unpublished") == []
    private = story.request().evidence[0]
    with pytest.raises(Conflict, match="no public copy to take down"):
        services.withdraw_public_copy(
            session, actor=story.organiser, evidence=private, reason="oops", storage=story.storage
        )


def test_organisers_finance_members_and_admins_take_copies_down_nobody_else(
    session: Session, story: Story
) -> None:
    for outsider in (story.host_member, story.auditor, story.donor, story.other_organiser):
        evidence = published_photo(story, approve=False)
        with pytest.raises(PermissionDenied):
            services.withdraw_public_copy(
                session, actor=outsider, evidence=evidence, reason="no", storage=story.storage
            )
        with pytest.raises(PermissionDenied):
            services.declare_shows_children(
                session, actor=outsider, evidence=evidence, children=[], storage=story.storage
            )
        assert evidence.is_published
        assert not evidence.shows_children
    for insider in (story.co_organiser, story.finance, story.admin):
        evidence = published_photo(story, approve=False)
        services.withdraw_public_copy(
            session, actor=insider, evidence=evidence, reason="address", storage=story.storage
        )
        assert not evidence.is_published


# --- declaring a child later -----------------------------------------------------------------


def test_declaring_a_consented_child_keeps_the_file_private_and_takes_its_copy_down(
    session: Session, story: Story
) -> None:
    child = register(story)
    evidence = published_photo(story)
    redacted_key = evidence.redacted_key
    assert redacted_key is not None

    declare(story, evidence, child)

    assert evidence.shows_children
    assert not evidence.is_withheld
    assert not evidence.is_published
    assert not story.storage.exists(redacted_key)
    assert story.storage.exists(evidence.storage_key)
    assert set(
        session.scalars(
            sa.select(EvidenceChild.child_id).where(EvidenceChild.evidence_id == evidence.id)
        )
    ) == {child.id}
    [unpublished] = steps(session, "evidence_unpublished")
    assert unpublished.detail["because"] == "shows_children"
    [declared] = steps(session, "evidence_shows_children")
    assert declared.detail == {"evidence": evidence.sha256, "children": 1}
    assert child.ref not in str(declared.detail)
    assert child.code not in str(declared.detail)
    assert steps(session, "evidence_withheld") == []
    with pytest.raises(Conflict, match="shows children, so it is never published"):
        services.publish_redacted(
            session,
            actor=story.organiser,
            evidence=evidence,
            upload=upload(image_bytes("PNG", (5, 5, 5)), "blurred.png"),
            storage=story.storage,
        )
    with pytest.raises(Conflict, match="already recorded as showing children"):
        declare(story, evidence, child)


@pytest.mark.parametrize("who", ["unconsented", "unregistered"])
def test_declaring_a_child_without_consent_withholds_the_file_and_the_ledger_still_verifies(
    session: Session, story: Story, who: str
) -> None:
    consented = register(story)
    shown = (
        [consented, register(story, consent=False, consent_date=None)]
        if who == "unconsented"
        else []
    )
    evidence = published_photo(story)
    redacted_key = evidence.redacted_key
    assert redacted_key is not None

    declare(story, evidence, *shown)

    assert evidence.shows_children
    assert evidence.is_withheld
    assert evidence.withheld_reason == "no_consent"
    assert evidence.withheld_reason_enum is not None
    assert evidence.withheld_reason_enum.label == (
        "It shows a child whose guardian's consent is not recorded."
    )
    assert not story.storage.exists(evidence.storage_key)
    assert not story.storage.exists(redacted_key)
    assert len(evidence.sha256) == 64
    [withheld] = steps(session, "evidence_withheld")
    assert withheld.detail == {"evidence": evidence.sha256, "withheld": "no_consent"}
    [declared] = steps(session, "evidence_shows_children")
    assert declared.detail["children"] == len(shown)
    assert len(steps(session, "evidence_unpublished")) == 1
    assert verify_ledger(session, None).entries >= 1


def test_a_declaration_naming_a_child_of_another_campaign_changes_nothing(
    session: Session, story: Story
) -> None:
    evidence = story.request(evidence=[upload(image_bytes(), "goods.jpg")]).evidence[0]
    with pytest.raises(ValidationError, match="registered in this campaign"):
        services.declare_shows_children(
            session,
            actor=story.organiser,
            evidence=evidence,
            children=["not-a-child-here"],
            storage=story.storage,
        )
    assert not evidence.shows_children
    assert steps(session, "evidence_shows_children") == []


def test_the_database_accepts_the_new_steps_and_keeps_its_triggers(
    session: Session, story: Story
) -> None:
    """Migration 0008 rebuilt both tables on SQLite: the append-only and consent triggers
    must still be there, and the new CHECK values accepted, the unknown still refused."""
    child = register(story)
    evidence = published_photo(story)
    declare(story, evidence, child)
    step = steps(session, "evidence_shows_children")[0]
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(
            sa.update(DisbursementActivity)
            .where(DisbursementActivity.id == step.id)
            .values(kind="evidence_unpublished")
        )
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.delete(DisbursementActivity).where(DisbursementActivity.id == step.id))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.delete(EvidenceFile).where(EvidenceFile.id == evidence.id))
    with pytest.raises(sa.exc.DatabaseError, match="original"), session.begin_nested():
        session.execute(
            sa.update(EvidenceFile).where(EvidenceFile.id == evidence.id).values(sha256="0" * 64)
        )
    with pytest.raises(sa.exc.DatabaseError, match="fixed"), session.begin_nested():
        session.execute(
            sa.update(EvidenceFile)
            .where(EvidenceFile.id == evidence.id)
            .values(shows_children=False)
        )
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(
            sa.update(EvidenceFile)
            .where(EvidenceFile.id == evidence.id)
            .values(withheld_at=sa.func.current_timestamp(), withheld_reason="bored")
        )
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(
            sa.insert(DisbursementActivity).values(
                campaign_id=story.campaign.id, kind="evidence_lost", detail={}
            )
        )


# --- over HTTP -------------------------------------------------------------------------------


def test_an_organiser_takes_a_copy_down_on_the_request_page(
    client: FlaskClient, session: Session, story: Story
) -> None:
    evidence = published_photo(story)
    redacted_key = evidence.redacted_key
    assert redacted_key is not None
    public_url = f"/evidence/{evidence.token}/redacted"
    page_url = f"/finance/{story.campaign.public_id}/disbursements/{evidence.disbursement_id}"
    action = f"/finance/{story.campaign.public_id}/evidence/{evidence.token}/redacted/withdraw"
    log_in(client, story.organiser)
    page = client.get(page_url).get_data(as_text=True)
    assert f'action="{action}"' in page
    assert f'<label for="withdraw-{evidence.id}-reason">' in page

    refused = client.post(action, data={f"withdraw-{evidence.id}-reason": " "})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert f'id="withdraw-{evidence.id}-reason-error"' in body
    assert "Say why the public copy is taken down" in body
    assert fetch(client.application.test_client(), public_url) == 200

    done = client.post(action, data={f"withdraw-{evidence.id}-reason": "Address visible"})
    assert done.status_code == 302
    assert fetch(client.application.test_client(), public_url) == 404
    assert not story.storage.exists(redacted_key)
    activity = client.get(f"/finance/{story.campaign.public_id}/activity").get_data(as_text=True)
    assert "Redacted evidence taken down" in activity
    assert "Address visible" in activity
    # No public copy any more: the form is gone, and a replayed post says why.
    assert f'action="{action}"' not in client.get(page_url).get_data(as_text=True)
    again = client.post(action, data={f"withdraw-{evidence.id}-reason": "again"})
    assert again.status_code == 409
    assert "no public copy to take down" in again.get_data(as_text=True)


def test_strangers_cannot_find_the_correction_forms_and_readers_may_not_use_them(
    client: FlaskClient, session: Session, story: Story
) -> None:
    evidence = published_photo(story)
    books = f"/finance/{story.campaign.public_id}/evidence/{evidence.token}"
    withdraw = (books + "/redacted/withdraw", {f"withdraw-{evidence.id}-reason": "x"})
    declare_form = (books + "/shows-children", {f"shows-children-{evidence.id}-children": []})
    for url, data in (withdraw, declare_form):
        visitor = client.application.test_client()
        assert visitor.post(url, data=data).status_code in (302, 401)  # asked to log in
        for stranger in (story.donor, story.other_organiser):
            assert as_user(client, stranger).post(url, data=data).status_code == 404
        for reader in (story.host_member, story.auditor):
            assert as_user(client, reader).post(url, data=data).status_code == 403
    wrong_campaign = f"/finance/{story.other_campaign.public_id}/evidence/{evidence.token}"
    assert (
        as_user(client, story.other_organiser)
        .post(wrong_campaign + "/redacted/withdraw", data=withdraw[1])
        .status_code
        == 404
    )
    session.expire_all()
    assert evidence.is_published
    assert not evidence.shows_children


def test_a_finance_member_declares_an_unconsented_child_and_the_file_is_withheld(
    client: FlaskClient, session: Session, story: Story
) -> None:
    refused = register(story, consent=False, consent_date=None)
    evidence = published_photo(story)
    session.commit()
    page_url = f"/finance/{story.campaign.public_id}/disbursements/{evidence.disbursement_id}"
    action = f"/finance/{story.campaign.public_id}/evidence/{evidence.token}/shows-children"
    log_in(client, story.finance)
    page = client.get(page_url).get_data(as_text=True)
    assert f'action="{action}"' in page
    assert f'<label for="shows-children-{evidence.id}-children">' in page
    assert f'<option value="{refused.ref}">' in page

    response = client.post(action, data={f"shows-children-{evidence.id}-children": [refused.ref]})
    assert response.status_code == 302
    session.expire_all()
    assert evidence.withheld_reason == "no_consent"
    original = f"/evidence/{evidence.token}/original"
    with client.get(original) as gone:
        assert gone.status_code == 410
        body = html.unescape(gone.get_data(as_text=True))
    assert "found to show a child whose guardian's consent is not recorded" in body
    assert evidence.sha256 in body
    assert fetch(client, f"/evidence/{evidence.token}/redacted") == 404
    page = html.unescape(client.get(page_url).get_data(as_text=True))
    assert f'action="{action}"' not in page
    assert "found to show a child whose guardian's consent is not recorded" in page
    activity = html.unescape(
        client.get(f"/finance/{story.campaign.public_id}/activity").get_data(as_text=True)
    )
    assert "Evidence declared to show a child" in activity
    assert "It shows a child whose guardian's consent is not recorded." in activity
    assert refused.code not in activity
    dashboard = html.unescape(as_user(client, story.auditor).get("/auditor").get_data(as_text=True))
    assert "It shows a child whose guardian's consent is not recorded." in dashboard


def test_declaring_a_consented_child_on_the_page_keeps_the_file_and_hides_the_publish_form(
    client: FlaskClient, session: Session, story: Story
) -> None:
    child = register(story)
    evidence = published_photo(story)
    session.commit()
    action = f"/finance/{story.campaign.public_id}/evidence/{evidence.token}/shows-children"
    log_in(client, story.organiser)
    wrong = client.post(action, data={f"shows-children-{evidence.id}-children": ["nobody"]})
    assert wrong.status_code == 400
    assert f'id="shows-children-{evidence.id}-children-error"' in wrong.get_data(as_text=True)
    response = client.post(action, data={f"shows-children-{evidence.id}-children": [child.ref]})
    assert response.status_code == 302
    session.expire_all()
    assert evidence.shows_children
    assert not evidence.is_withheld
    assert not evidence.is_published
    with client.get(f"/evidence/{evidence.token}/original") as kept:
        assert kept.status_code == 200
    page = client.get(
        f"/finance/{story.campaign.public_id}/disbursements/{evidence.disbursement_id}"
    ).get_data(as_text=True)
    assert f"/evidence/{evidence.token}/redacted" not in page  # no publish form, no copy
    assert "Never: this file shows children." in page


def test_the_correction_forms_refuse_a_post_without_the_csrf_token(
    make_app: Callable[..., Flask], session: Session, story: Story
) -> None:
    evidence = published_photo(story)
    session.commit()
    client = make_app(WTF_CSRF_ENABLED=True, GIVING_DATA_KEY=TEST_DATA_KEY).test_client()
    log_in(client, story.organiser)
    books = f"/finance/{story.campaign.public_id}/evidence/{evidence.token}"
    assert (
        client.post(
            books + "/redacted/withdraw", data={f"withdraw-{evidence.id}-reason": "x"}
        ).status_code
        == 400
    )
    assert client.post(books + "/shows-children", data={}).status_code == 400
    session.expire_all()
    assert evidence.is_published
    assert not evidence.shows_children
    assert steps(session, "evidence_unpublished") == []


def test_the_pdf_copy_of_a_receipt_can_be_taken_down_by_an_admin(
    session: Session, story: Story
) -> None:
    disbursement = story.request()
    receipt = disbursement.evidence[0]
    services.publish_redacted(
        session,
        actor=story.organiser,
        evidence=receipt,
        upload=upload(pdf_bytes("redacted receipt")),
        storage=story.storage,
    )
    services.withdraw_public_copy(
        session, actor=story.admin, evidence=receipt, reason="Phone number", storage=story.storage
    )
    assert not receipt.is_published
    [step] = steps(session, "evidence_unpublished")
    assert step.actor_id == story.admin.id
