"""Evidence that shows children: uploaded only with the guardian's recorded consent, never
published, and withheld (bytes deleted, digest kept, step logged) once consent ends."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.db import transaction
from giving.disbursements import services
from giving.disbursements.models import (
    Disbursement,
    DisbursementActivity,
    EvidenceChild,
    EvidenceFile,
)
from giving.errors import Conflict, ValidationError
from giving.impact import services as registry
from giving.impact.models import BeneficiaryChild
from giving.ledger.verify import verify_ledger
from tests.campaigns.factories import log_in
from tests.disbursements.support import Story, image_bytes, pdf_bytes, upload
from tests.impact.support import TEST_DATA_KEY, child_values, erase, make_cipher, register


@pytest.fixture
def app(make_app: Callable[..., Flask], app_config: dict[str, Any]) -> Flask:
    # The registry pages decrypt children's records with the test key.
    return make_app(GIVING_DATA_KEY=TEST_DATA_KEY, **app_config)


def photo_of(*children: BeneficiaryChild, note: str = "class") -> services.EvidenceUpload:
    colour = (len(note) * 20 % 256, 90, 160)
    return services.EvidenceUpload(
        image_bytes("JPEG", colour),
        f"{note}.jpg",
        shows_children=True,
        children=tuple(child.ref for child in children),
    )


def counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        for model in (Disbursement, EvidenceFile, EvidenceChild, DisbursementActivity)
    )


def stored(story: Story) -> list[str]:
    root = story.storage.root
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def unconsented(story: Story) -> BeneficiaryChild:
    return register(story, consent=False, consent_date=None)


def withdraw_consent(story: Story, child: BeneficiaryChild) -> None:
    registry.update_child(
        story.session,
        actor=story.organiser,
        campaign=story.campaign,
        ref=child.ref,
        values=child_values(code=child.code, consent=False, consent_date=None),
        cipher=make_cipher(),
        evidence_storage=story.storage,
    )


def withheld_steps(session: Session) -> list[DisbursementActivity]:
    return list(
        session.scalars(
            sa.select(DisbursementActivity).where(DisbursementActivity.kind == "evidence_withheld")
        )
    )


# --- uploading -----------------------------------------------------------------------------


def test_a_photo_of_consented_children_is_uploaded_and_records_who_it_shows(
    session: Session, story: Story
) -> None:
    first, second = register(story), register(story)
    disbursement = story.request(evidence=[upload(pdf_bytes("invoice")), photo_of(first, second)])
    invoice, photo = disbursement.evidence
    assert not invoice.shows_children
    assert photo.shows_children
    shown = set(
        session.scalars(
            sa.select(EvidenceChild.child_id).where(EvidenceChild.evidence_id == photo.id)
        )
    )
    assert shown == {first.id, second.id}
    assert story.storage.exists(photo.storage_key)


@pytest.mark.parametrize("path", ["request", "add evidence"])
def test_a_photo_of_a_child_without_consent_is_refused_naming_the_child_and_nothing_is_written(
    session: Session, story: Story, path: str
) -> None:
    consented, refused = register(story), unconsented(story)
    pending = story.request(evidence=[]) if path == "add evidence" else None
    before, files_before = counts(session), stored(story)
    evidence = [upload(pdf_bytes("invoice")), photo_of(consented, refused)]

    def attempt() -> None:
        if pending is None:
            story.request(evidence=evidence)
        else:
            services.add_evidence(
                session,
                actor=story.organiser,
                disbursement=pending,
                evidence=evidence,
                storage=story.storage,
            )

    with pytest.raises(services.UploadRefused) as caught:
        attempt()
    assert refused.code is not None
    assert refused.code in caught.value.message
    assert consented.code not in caught.value.message
    assert "no guardian consent" in caught.value.message
    assert (caught.value.index, caught.value.part) == (1, "children")
    assert counts(session) == before
    assert stored(story) == files_before


def test_declarations_that_do_not_add_up_are_refused(session: Session, story: Story) -> None:
    child = register(story)
    erased = register(story)
    erase(story, erased)
    elsewhere = registry.register_child(
        session,
        actor=story.other_organiser,
        campaign=story.other_campaign,
        values=child_values(),
        cipher=make_cipher(),
    )
    before = counts(session)
    cases: list[tuple[services.EvidenceUpload, str]] = [
        (services.EvidenceUpload(image_bytes(), "a.jpg", shows_children=True), "choose every"),
        (
            services.EvidenceUpload(image_bytes(), "b.jpg", children=(child.ref,)),
            "shows no child but chose children",
        ),
        (photo_of(erased), "record was erased"),
        (photo_of(elsewhere), "registered in this campaign"),
    ]
    for evidence, message in cases:
        with pytest.raises(ValidationError, match=message):
            story.request(evidence=[evidence])
    assert counts(session) == before
    assert stored(story) == []


# --- publishing ----------------------------------------------------------------------------


def test_a_file_showing_a_child_is_never_published_even_redacted(
    session: Session, story: Story
) -> None:
    disbursement = story.request(evidence=[photo_of(register(story))])
    services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    photo = disbursement.evidence[0]
    files_before = stored(story)
    with pytest.raises(Conflict, match="shows children, so it is never published"):
        services.publish_redacted(
            session,
            actor=story.organiser,
            evidence=photo,
            upload=upload(image_bytes("PNG", (0, 0, 0)), "blurred.png"),
            storage=story.storage,
        )
    assert not photo.is_published
    assert stored(story) == files_before
    # The database refuses it too, whatever the code does.
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(
            sa.update(EvidenceFile)
            .where(EvidenceFile.id == photo.id)
            .values(redacted_key="f" * 32 + ".png", published_at=sa.func.current_timestamp())
        )


# --- withdrawal and erasure ----------------------------------------------------------------


def test_withdrawing_consent_withholds_the_file_keeps_its_digest_and_logs_it(
    session: Session, story: Story
) -> None:
    child, other = register(story), register(story)
    with transaction(session):
        disbursement = story.request(
            evidence=[upload(pdf_bytes("invoice")), photo_of(child, note="withdrawn")]
        )
        services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
        unrelated = story.request(evidence=[photo_of(other, note="other")])
    invoice, photo = disbursement.evidence
    assert story.storage.exists(photo.storage_key)

    with transaction(session):
        withdraw_consent(story, child)

    assert photo.is_withheld
    assert photo.withheld_reason == "consent_withdrawn"
    assert not story.storage.exists(photo.storage_key)
    assert len(photo.sha256) == 64  # the digest stays for the ledger
    assert story.storage.exists(invoice.storage_key)
    assert not invoice.is_withheld
    assert story.storage.exists(unrelated.evidence[0].storage_key)
    [step] = withheld_steps(session)
    assert step.disbursement_id == disbursement.id
    assert step.actor_id == story.organiser.id
    assert step.detail == {"evidence": photo.sha256, "withheld": "consent_withdrawn"}
    assert child.ref not in str(step.detail)
    # The ledger entry still lists the digest and the whole ledger still verifies.
    assert verify_ledger(session, None).entries >= 1
    # Withdrawing again changes nothing more; the withholding cannot be undone in the database.
    with transaction(session):
        withdraw_consent(story, child)
    assert len(withheld_steps(session)) == 1
    with pytest.raises(sa.exc.DatabaseError), session.begin_nested():
        session.execute(
            sa.update(EvidenceFile).where(EvidenceFile.id == photo.id).values(withheld_at=None)
        )
    with pytest.raises(sa.exc.DatabaseError), session.begin_nested():
        session.execute(sa.delete(EvidenceChild).where(EvidenceChild.evidence_id == photo.id))


def test_erasing_a_childs_record_withholds_every_file_showing_the_child(
    session: Session, story: Story
) -> None:
    child = register(story)
    with transaction(session):
        first = story.request(evidence=[photo_of(child, note="first")])
        second = story.request(evidence=[photo_of(child, note="second")])
    with transaction(session):
        erase(story, child)
    for disbursement in (first, second):
        evidence = disbursement.evidence[0]
        assert evidence.withheld_reason == "child_erased"
        assert not story.storage.exists(evidence.storage_key)
    assert len(withheld_steps(session)) == 2
    # A request whose only evidence was withheld cannot be approved on a digest alone.
    with pytest.raises(Conflict, match="withheld"):
        services.approve_disbursement(session, actor=story.finance, disbursement=first)


def test_a_withdrawal_that_rolls_back_keeps_the_file(session: Session, story: Story) -> None:
    child = register(story)
    with transaction(session):
        photo = story.request(evidence=[photo_of(child)]).evidence[0]

    def withdraw_then_fail() -> None:
        with transaction(session):
            withdraw_consent(story, child)
            raise RuntimeError("the commit never happens")

    with pytest.raises(RuntimeError):
        withdraw_then_fail()
    session.expire_all()
    assert not photo.is_withheld
    assert story.storage.exists(photo.storage_key)


# --- over HTTP -----------------------------------------------------------------------------


def _request_form(**slot: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "payee": "Liangshan Xinhua Bookshop",
        "amount": "120",
        "currency": "CNY",
        "category": "education",
        "spent_on": "2026-03-02",
        "description": "Winter coats",
    }
    data.update({f"evidence-0-{name}": value for name, value in slot.items()})
    return data


def test_the_request_form_asks_what_each_file_shows_and_refuses_unconsented_children(
    client: FlaskClient, session: Session, story: Story
) -> None:
    consented, refused = register(story), unconsented(story)
    session.commit()
    log_in(client, story.organiser)
    url = f"/finance/{story.campaign.public_id}/disbursements/new"
    page = client.get(url).get_data(as_text=True)
    assert "Does this file show a child?" in page
    assert 'name="evidence-0-shows_children"' in page
    assert f'<option value="{consented.ref}">{consented.code}' in page
    assert "no guardian consent" in page

    before = counts(session)
    unanswered = client.post(
        url,
        data=_request_form(file=(io.BytesIO(image_bytes()), "class.jpg")),
        content_type="multipart/form-data",
    )
    assert unanswered.status_code == 400
    body = unanswered.get_data(as_text=True)
    assert "Say whether this file shows a child." in body
    assert 'aria-describedby="evidence-0-shows_children-error"' in body

    refused_page = client.post(
        url,
        data=_request_form(
            file=(io.BytesIO(image_bytes()), "class.jpg"),
            shows_children="yes",
            children=[consented.ref, refused.ref],
        ),
        content_type="multipart/form-data",
    )
    assert refused_page.status_code == 400
    body = refused_page.get_data(as_text=True)
    assert f"no guardian consent is recorded for {refused.code}" in body
    assert 'id="evidence-0-children-error"' in body
    assert 'aria-invalid="true"' in body
    assert counts(session) == before
    assert stored(story) == []

    accepted = client.post(
        url,
        data=_request_form(
            file=(io.BytesIO(image_bytes()), "class.jpg"),
            shows_children="yes",
            children=[consented.ref],
        ),
        content_type="multipart/form-data",
    )
    assert accepted.status_code == 302
    photo = session.scalars(sa.select(EvidenceFile)).one()
    assert photo.shows_children
    detail = client.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "Never: this file shows children." in detail
    assert f"/evidence/{photo.token}/redacted" not in detail  # no publish form for it
    refused_publish = client.post(
        f"/finance/{story.campaign.public_id}/evidence/{photo.token}/redacted",
        data={f"redacted-{photo.id}-file": (io.BytesIO(image_bytes("PNG")), "r.png")},
        content_type="multipart/form-data",
    )
    assert refused_publish.status_code == 409
    assert "never published" in refused_publish.get_data(as_text=True)


def test_adding_evidence_on_the_request_page_needs_the_same_declaration(
    client: FlaskClient, session: Session, story: Story
) -> None:
    refused = unconsented(story)
    disbursement = story.request()
    session.commit()
    log_in(client, story.organiser)
    url = f"/finance/{story.campaign.public_id}/disbursements/{disbursement.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="evidence-0-shows_children"' in page
    response = client.post(
        url + "/evidence",
        data={
            "evidence-0-file": (io.BytesIO(pdf_bytes("more")), "more.pdf"),
            "evidence-0-shows_children": "no",
            "evidence-1-file": (io.BytesIO(image_bytes()), "kids.jpg"),
            "evidence-1-shows_children": "yes",
            "evidence-1-children": [refused.ref],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert f"kids.jpg cannot be uploaded: no guardian consent is recorded for {refused.code}" in (
        body
    )
    assert 'id="evidence-1-children-error"' in body
    session.expire_all()
    assert len(disbursement.evidence) == 1
    assert len(stored(story)) == 1


def test_unticking_consent_in_the_registry_withholds_the_photo_and_its_download_says_so(
    client: FlaskClient, session: Session, story: Story
) -> None:
    child = register(story)
    photo = story.request(evidence=[photo_of(child)]).evidence[0]
    session.commit()
    log_in(client, story.organiser)
    original = f"/evidence/{photo.token}/original"
    with client.get(original) as response:
        assert response.status_code == 200
    edited = client.post(
        f"/registry/{story.campaign.public_id}/children/{child.ref}/edit",
        data={
            "code": child.code,
            "age_band": "6-11",
            "sex": "female",
            "province": "CN-SC",
            "consent": "",
        },
    )
    assert edited.status_code == 302
    session.expire_all()
    assert photo.is_withheld
    assert not story.storage.exists(photo.storage_key)
    for reader in (story.organiser, story.finance, story.auditor, story.admin):
        log_in(client, reader)
        with client.get(original) as response:
            assert response.status_code == 410
            body = response.get_data(as_text=True)
            assert "Withheld: guardian consent withdrawn on" in body
            assert photo.sha256 in body
    log_in(client, story.donor)
    assert client.get(original).status_code == 404  # strangers still learn nothing
    books = f"/finance/{story.campaign.public_id}"
    log_in(client, story.auditor)
    assert "Withheld: guardian consent withdrawn" in client.get(
        f"{books}/disbursements/{photo.disbursement_id}"
    ).get_data(as_text=True)
    activity = client.get(f"{books}/activity").get_data(as_text=True)
    assert "Evidence withheld" in activity
    assert "A guardian withdrew consent for a child it shows." in activity
    assert child.code not in activity


def test_sweeping_deletes_withheld_bytes_a_crash_left_behind(
    session: Session, story: Story, app: Flask
) -> None:
    child = register(story)
    with transaction(session):
        disbursement = story.request(evidence=[upload(pdf_bytes("invoice")), photo_of(child)])
    invoice, photo = disbursement.evidence
    original = story.storage.path_for(photo.storage_key).read_bytes()
    with transaction(session):
        withdraw_consent(story, child)
    assert not story.storage.exists(photo.storage_key)
    # As if the process died between the commit and the deletion: the bytes are still there.
    (story.storage.root / photo.storage_key).write_bytes(original)
    session.commit()

    result = app.test_cli_runner().invoke(args=["impact", "sweep-withheld"])
    assert result.exit_code == 0, result.output
    assert "Deleted the bytes of 1 withheld evidence files." in result.output
    assert photo.sha256 in result.output
    assert not story.storage.exists(photo.storage_key)
    assert story.storage.exists(invoice.storage_key)  # files not withheld are never touched
    again = app.test_cli_runner().invoke(args=["impact", "sweep-withheld"])
    assert "Deleted the bytes of 0 withheld evidence files." in again.output
