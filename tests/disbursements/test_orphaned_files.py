"""Evidence files stored by a request whose transaction then fails are removed again."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.db import transaction
from giving.disbursements import services
from giving.disbursements.models import Disbursement, EvidenceFile
from tests.campaigns.factories import log_in
from tests.disbursements.support import Story, image_bytes, pdf_bytes, upload


def stored(story: Story) -> list[str]:
    root = story.storage.root
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_files_saved_before_the_transaction_fails_are_removed(
    session: Session, story: Story
) -> None:
    session.commit()  # the story; what fails below is only the request's own transaction

    def request_then_fail() -> None:
        with transaction(session):
            story.request(evidence=[upload(pdf_bytes("one")), upload(pdf_bytes("two"))])
            assert len(stored(story)) == 2  # saved, then the failure:
            raise RuntimeError("the commit fails")

    with pytest.raises(RuntimeError):
        request_then_fail()
    assert stored(story) == []

    with transaction(session):
        disbursement = story.request(evidence=[upload(pdf_bytes("kept"))])
    [kept] = stored(story)

    def add_then_fail() -> None:
        with transaction(session):
            services.add_evidence(
                session,
                actor=story.organiser,
                disbursement=disbursement,
                evidence=[upload(image_bytes("PNG"), "photo.png")],
                storage=story.storage,
            )
            raise RuntimeError("the commit fails")

    with pytest.raises(RuntimeError):
        add_then_fail()
    assert stored(story) == [kept]


def test_a_request_refused_after_its_files_were_stored_leaves_no_file(
    client: FlaskClient, session: Session, story: Story
) -> None:
    # The children reached are linked after request_disbursement stored the files, in the
    # same transaction; a bad child reference fails it then.
    session.commit()
    log_in(client, story.organiser)
    response = client.post(
        f"/finance/{story.campaign.public_id}/disbursements/new",
        data={
            "payee": "Liangshan Xinhua Bookshop",
            "amount": "120",
            "currency": "CNY",
            "category": "education",
            "spent_on": "2026-03-02",
            "description": "Exercise books",
            "evidence-0-file": (io.BytesIO(pdf_bytes("invoice")), "invoice.pdf"),
            "evidence-0-shows_children": "no",
            "children": ["not-a-child-of-this-campaign"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Choose children registered in this campaign." in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Disbursement)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)) == 0
    assert stored(story) == []


def test_a_replaced_redacted_copy_is_removed_once_the_replacement_commits(
    session: Session, story: Story
) -> None:
    with transaction(session):
        evidence = story.request().evidence[0]
    keys = []
    for colour in ((0, 0, 0), (40, 40, 40)):
        with transaction(session):
            services.publish_redacted(
                session,
                actor=story.organiser,
                evidence=evidence,
                upload=upload(image_bytes("PNG", colour), "redacted.png"),
                storage=story.storage,
            )
        keys.append(evidence.redacted_key)
    first, second = keys
    assert first is not None
    assert second is not None
    assert not story.storage.exists(first)
    assert story.storage.exists(second)
    assert story.storage.exists(evidence.storage_key)
