"""The children's registry as a service: register, read (logged), edit, erase, who may."""

from __future__ import annotations

import dataclasses
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from giving.audit.models import AuditEvent
from giving.campaigns import services as campaigns
from giving.errors import Conflict, NotFound, PermissionDenied, ValidationError
from giving.impact import records, services
from giving.impact.crypto import FieldCipher
from giving.impact.models import BeneficiaryChild, ChildAccessLog
from tests.disbursements.support import Story
from tests.impact.support import (
    approved,
    child_values,
    erase,
    grant_auditor,
    make_cipher,
    reach,
    register,
)


def raw_row(session: Session, child: BeneficiaryChild) -> dict[str, object]:
    session.flush()
    row = (
        session.execute(
            sa.text("SELECT * FROM beneficiary_children WHERE id = :id"), {"id": child.id}
        )
        .mappings()
        .one()
    )
    return dict(row)


def reads(session: Session, child: BeneficiaryChild) -> list[tuple[int, str]]:
    return [
        (row.actor_id, row.kind)
        for row in session.scalars(
            sa.select(ChildAccessLog)
            .where(ChildAccessLog.child_id == child.id)
            .order_by(ChildAccessLog.id)
        )
    ]


def test_a_registered_child_gets_a_pseudonymous_code_and_private_fields_are_encrypted(
    story: Story, session: Session
) -> None:
    child = register(story, city="Xichang", notes="Lives with her grandmother")
    assert re.fullmatch(r"C-[2-9A-HJKMNP-Z]{4}", child.code or "")
    stored = " ".join(str(value) for value in raw_row(session, child).values())
    for secret in ("Xichang", "grandmother", "winter coat"):
        assert secret not in stored
    assert "education,food" in stored  # coarse categories stay searchable
    record = services.read_child(
        session, actor=story.organiser, campaign=story.campaign, ref=child.ref, cipher=make_cipher()
    )
    assert (record.city, record.notes) == ("Xichang", "Lives with her grandmother")
    assert record.needs == ("education", "food")  # in the categories' order


def test_codes_are_unique_per_campaign_and_may_be_chosen(story: Story, session: Session) -> None:
    register(story, code="ab-12")
    with pytest.raises(Conflict, match="AB-12"):
        register(story, code="AB-12")
    generated = {register(story).code for _ in range(20)}
    assert len(generated) == 20


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "Zhang San"),
        ("code", "FOOD"),  # a word: the scanner would then refuse every update saying "food"
        ("code", "12345"),
        ("age_band", "18-20"),
        ("sex", "other"),
        ("province", "Atlantis"),
        ("city", "Xichang, Yi village"),
        ("city", "西昌市小庙村"),
        ("city", "凉山州某镇中心小学"),
        ("city", "Kunming, 3 Dongfeng Road"),
        ("city", "人民路"),
        ("city", "Flat 12"),
        ("needs", ("education", "toys")),
        ("consent_date", None),
    ],
)
def test_values_that_are_wrong_or_too_precise_are_refused_with_the_field_named(
    story: Story, session: Session, field: str, value: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        register(story, **{field: value})
    assert caught.value.field == field
    assert session.scalar(sa.select(sa.func.count(BeneficiaryChild.id))) == 0


@pytest.mark.parametrize("city", ["Xichang", "成都", "镇江", "萍乡市", "Xi'an", ""])
def test_cities_are_accepted_at_city_level(story: Story, city: str) -> None:
    assert register(story, city=city).id


def test_provinces_may_be_given_by_name_and_sex_may_be_left_out(story: Story) -> None:
    child = register(story, province="Yunnan", sex="")
    assert (child.province, child.sex) == ("CN-YN", "unspecified")
    assert register(story, province="四川").province == "CN-SC"


def test_every_read_is_logged_with_who_and_which(story: Story, session: Session) -> None:
    grant_auditor(story)
    child = register(story)
    services.list_children(session, actor=story.finance, campaign=story.campaign)
    services.read_child(
        session, actor=story.auditor, campaign=story.campaign, ref=child.ref, cipher=make_cipher()
    )
    assert reads(session, child) == [(story.finance.id, "listed"), (story.auditor.id, "viewed")]


def test_the_access_log_cannot_be_changed_or_deleted(story: Story, session: Session) -> None:
    child = register(story)
    services.list_children(session, actor=story.organiser, campaign=story.campaign)
    session.commit()
    for statement in (
        "UPDATE child_access_log SET actor_id = actor_id",
        "DELETE FROM child_access_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(sa.text(statement))
    assert reads(session, child) == [(story.organiser.id, "listed")]


def test_strangers_are_told_the_registry_does_not_exist(story: Story, session: Session) -> None:
    child = register(story)
    for stranger in (None, story.donor, story.other_organiser, story.auditor):
        with pytest.raises(NotFound):
            services.list_children(session, actor=stranger, campaign=story.campaign)
        with pytest.raises(NotFound):
            services.read_child(
                session,
                actor=stranger,
                campaign=story.campaign,
                ref=child.ref,
                cipher=make_cipher(),
            )
    assert reads(session, child) == []


def test_viewers_who_are_not_organisers_may_read_but_not_change(
    story: Story, session: Session
) -> None:
    grant_auditor(story)
    child = register(story)
    for viewer in (story.finance, story.host_member, story.auditor, story.admin):
        services.read_child(
            session, actor=viewer, campaign=story.campaign, ref=child.ref, cipher=make_cipher()
        )
        with pytest.raises(PermissionDenied):
            services.register_child(
                session,
                actor=viewer,
                campaign=story.campaign,
                values=child_values(),
                cipher=make_cipher(),
            )
        with pytest.raises(PermissionDenied):
            services.erase_child(
                session,
                actor=viewer,
                campaign=story.campaign,
                ref=child.ref,
                evidence_storage=story.storage,
            )
    co = services.register_child(
        session,
        actor=story.co_organiser,
        campaign=story.campaign,
        values=child_values(),
        cipher=make_cipher(),
    )
    assert co.created_by_id == story.co_organiser.id


def test_editing_changes_values_and_audits_field_names_only(story: Story, session: Session) -> None:
    child = register(story, notes="First note")
    services.update_child(
        session,
        actor=story.organiser,
        campaign=story.campaign,
        ref=child.ref,
        values=child_values(code=None, notes="Second note", age_band="12-14"),
        cipher=make_cipher(),
        evidence_storage=story.storage,
    )
    record = services.read_child(
        session, actor=story.organiser, campaign=story.campaign, ref=child.ref, cipher=make_cipher()
    )
    assert (record.code, record.notes, record.age_band) == (child.code, "Second note", "12-14")
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "child.updated"))
    assert event is not None
    assert event.detail["fields"] == ["age_band", "notes"]
    assert "Second note" not in str(event.detail)


def test_erasing_wipes_the_record_and_keeps_only_what_published_figures_need(
    story: Story, session: Session
) -> None:
    reached = register(story, code="ZZ-1A", city="Xichang", notes="Secret note")
    unreached = register(story, code="ZZ-2B")
    reach(story, approved(story), [reached])
    for child in (reached, unreached):
        erase(story, child)
    row = raw_row(session, reached)
    assert row["code"] is None
    assert row["city_enc"] is None
    assert row["notes_enc"] is None
    assert row["needs_detail_enc"] is None
    assert row["consent_date"] is None
    assert row["erased_at"] is not None
    assert (row["age_band"], row["province"]) == ("6-11", "CN-SC")
    bare = raw_row(session, unreached)
    assert (bare["age_band"], bare["sex"], bare["province"]) == (None, None, None)
    with pytest.raises(NotFound):
        services.read_child(
            session,
            actor=story.organiser,
            campaign=story.campaign,
            ref=reached.ref,
            cipher=make_cipher(),
        )
    assert (
        services.list_children(session, actor=story.organiser, campaign=story.campaign).children
        == []
    )
    # The code is free again, and no audit row repeats it.
    assert register(story, code="ZZ-1A").code == "ZZ-1A"
    audit = " ".join(str(e.detail) for e in session.scalars(sa.select(AuditEvent)))
    assert "ZZ-1A" not in audit
    assert "Secret note" not in audit


def test_a_frozen_campaign_keeps_its_registry_but_still_allows_erasure(
    story: Story, session: Session
) -> None:
    child = register(story)
    campaigns.freeze(
        session, actor=story.admin, campaign=story.campaign, reason="Checking receipts"
    )
    with pytest.raises(Conflict):
        register(story)
    erase(story, child)


def test_rotation_re_encrypts_under_the_new_key(story: Story, session: Session) -> None:
    from tests.impact.support import TEST_DATA_KEY

    child = register(story, city="Xichang", notes="A note", needs_detail="")
    rotated = FieldCipher.from_secrets(["a-brand-new-secret-for-rotation-tests-000", TEST_DATA_KEY])
    assert records.rotate_encryption(session, rotated) == 2
    assert records.rotate_encryption(session, rotated) == 0
    assert (child.city_enc or "").startswith(f"v1:{rotated.key_id}:")
    new_only = FieldCipher.from_secrets(["a-brand-new-secret-for-rotation-tests-000"])
    record = services.read_child(
        session, actor=story.organiser, campaign=story.campaign, ref=child.ref, cipher=new_only
    )
    assert dataclasses.astuple(record)[5] == "Xichang"
