"""Importing children from CSV: every problem reported by row and column, all or nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from giving.errors import NotFound, PermissionDenied
from giving.impact import importer, services
from giving.impact.importer import ImportRejected, RowError, import_children
from giving.impact.models import BeneficiaryChild
from tests.disbursements.support import Story
from tests.impact.support import make_cipher, register

HEADER = "code,age_band,sex,province,city,needs,consent,consent_date,notes\n"


def run(story: Story, text: str | bytes) -> list[BeneficiaryChild]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return import_children(
        story.session,
        actor=story.organiser,
        campaign=story.campaign,
        data=data,
        cipher=make_cipher(),
    )


def count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count(BeneficiaryChild.id))) or 0


def rejected(story: Story, text: str | bytes) -> list[RowError]:
    before = count(story.session)
    with pytest.raises(ImportRejected) as caught:
        run(story, text)
    assert count(story.session) == before
    return caught.value.errors


def test_a_good_file_with_a_byte_order_mark_imports_every_child(
    story: Story, session: Session
) -> None:
    text = (
        "\ufeff"
        + HEADER
        + ",6-11,female,CN-YN,Kunming,education;food,yes,2026-03-01,Walks an hour to school\n"
        + "K-22A,3-5,,Sichuan,,health,no,,\n"
        + "\n"  # spreadsheets leave blank lines at the end
    )
    children = run(story, text)
    assert [c.age_band for c in children] == ["6-11", "3-5"]
    assert children[1].code == "K-22A"
    assert children[0].code
    assert children[0].code.startswith("C-")
    assert children[1].province == "CN-SC"
    assert children[1].consent is False
    record = services.read_child(
        session,
        actor=story.organiser,
        campaign=story.campaign,
        ref=children[0].ref,
        cipher=make_cipher(),
    )
    assert (record.city, record.notes, record.needs) == (
        "Kunming",
        "Walks an hour to school",
        ("education", "food"),
    )


def test_the_template_imports_as_it_is(story: Story) -> None:
    assert len(run(story, importer.template_csv())) == 1


ZH_HEADER = "编号,年龄,性别,省份,城市,需求,监护人同意,同意日期,备注\n"


def test_columns_and_values_may_be_written_in_chinese(story: Story, app: Flask) -> None:
    text = (
        ZH_HEADER
        + ",6 至 11 岁,女,云南,昆明,教育；饮食,是,2026-03-01,\n"
        + ",3-5,男,四川省,,医疗、住房,否,,\n"
        + ",15-17,未说明,广西壮族自治区,,交通;其他,同意,2026-03-01,\n"
    )
    with app.test_request_context():
        children = run(story, text)
    assert [(c.age_band, c.sex, c.province, c.needs) for c in children] == [
        ("6-11", "female", "CN-YN", "education,food"),
        ("3-5", "male", "CN-SC", "health,shelter"),
        ("15-17", "unspecified", "CN-GX", "transport,other"),
    ]
    assert [c.consent for c in children] == [True, False, True]


def test_columns_and_values_may_be_written_as_their_english_labels(
    story: Story, app: Flask
) -> None:
    text = (
        "Code,Age,Sex,Province,City,Needs,Guardian consent,Date of consent,Notes\n"
        ",6 to 11 years,Female,Yunnan Province,Kunming,Education;Food,Yes,2026-03-01,\n"
        ",0-2,Not stated,inner mongolia,,Health,No,,\n"
    )
    with app.test_request_context():
        children = run(story, text)
    assert [(c.age_band, c.sex, c.province, c.needs) for c in children] == [
        ("6-11", "female", "CN-YN", "education,food"),
        ("0-2", "unspecified", "CN-NM", "health"),
    ]


def test_the_chinese_template_is_in_chinese_and_imports_as_it_is(story: Story, app: Flask) -> None:
    with app.test_request_context():
        template = importer.template_csv("zh_Hans_CN")
        assert template.startswith(ZH_HEADER.replace("\n", "\r\n"))
        assert "女" in template
        assert "教育;饮食" in template
        assert "female" not in template
        (child,) = run(story, template)
    assert (child.sex, child.province, child.needs) == ("female", "CN-YN", "education,food")


def test_an_unknown_chinese_column_is_refused_naming_the_chinese_columns(
    story: Story, app: Flask
) -> None:
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        errors = rejected(story, "年龄,省份,监护人同意,学校\n6-11,云南,是,\n")
    assert "学校" in errors[0].message
    assert "年龄、性别、省份" in errors[0].message
    assert "age_band" not in errors[0].message


def test_an_unknown_chinese_value_is_still_refused(story: Story, app: Flask) -> None:
    with app.test_request_context():
        errors = rejected(story, ZH_HEADER + ",6-11,女,云南,,玩具,是,2026-03-01,\n")
    assert [(e.row, e.column) for e in errors] == [(2, "needs")]


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out(story: Story) -> None:
    children = run(story, "Consent,Province,Age_Band\nyes,CN-GZ,0-2\n".replace("yes", "no"))
    assert (children[0].province, children[0].age_band) == ("CN-GZ", "0-2")


def test_every_bad_cell_is_reported_with_its_row_and_column_and_nothing_is_imported(
    story: Story,
) -> None:
    text = (
        HEADER
        + ",6-11,female,CN-YN,Kunming,education,yes,2026-03-01,fine\n"  # row 2: good
        + "Zhang San,19,x,Atlantis,Dali 5 village,toys,maybe,2026-02-30,\n"  # row 3: all bad
        + ",12-14,male,CN-YN,Lijiang,food,yes,,\n"  # row 4: consent without a date
        + "A-1B,6-11\n"  # row 5: too few cells
    )
    errors = rejected(story, text)
    found = {(error.row, error.column) for error in errors}
    assert {
        (3, c)
        for c in ("code", "age_band", "sex", "province", "city", "needs", "consent", "consent_date")
    } <= found
    assert (4, "consent_date") in found
    assert (5, "") in found
    assert not any(error.row == 2 for error in errors)
    assert all(error.message for error in errors)


def test_duplicate_codes_in_the_file_or_the_campaign_are_reported(story: Story) -> None:
    register(story, code="DUP-1A")
    text = HEADER + "X-9Z,6-11,,CN-YN,,,no,,\nx-9z,3-5,,CN-YN,,,no,,\nDUP-1A,3-5,,CN-YN,,,no,,\n"
    errors = rejected(story, text)
    messages = {(e.row, e.column): e.message for e in errors}
    assert "row 2" in messages[(3, "code")]
    assert "already used" in messages[(4, "code")]
    assert count(story.session) == 1  # the one registered before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (HEADER.encode(), "no children"),
        (b"code,age_band\n", "province"),
        (b"age_band,province,consent,school\n", "Unknown column school"),
        (b"age_band,province,consent,age_band\n", "twice"),
        (
            (HEADER + ",6-11,,CN-YN,Lìjiāng,,no,,\n")
            .encode("latin-1", "replace")
            .replace(b"?", b"\xe8"),
            "UTF-8",
        ),
    ],
)
def test_files_that_are_not_a_registry_are_refused_whole(
    story: Story, data: bytes, expected: str
) -> None:
    errors = rejected(story, data)
    assert expected in errors[0].message


def test_size_and_row_limits(story: Story, monkeypatch: pytest.MonkeyPatch) -> None:
    big = HEADER.encode() + b"," * (importer.MAX_IMPORT_BYTES + 1)
    assert "larger than" in rejected(story, big)[0].message
    monkeypatch.setattr(importer, "MAX_IMPORT_ROWS", 3)
    rows = "".join(",6-11,,CN-YN,,,no,,\n" for _ in range(4))
    assert "more than 3 rows" in rejected(story, HEADER + rows)[0].message


def test_only_organisers_import(story: Story) -> None:
    data = (HEADER + ",6-11,,CN-YN,,,no,,\n").encode()
    with pytest.raises(PermissionDenied):
        import_children(
            story.session,
            actor=story.finance,
            campaign=story.campaign,
            data=data,
            cipher=make_cipher(),
        )
    with pytest.raises(NotFound):
        import_children(
            story.session,
            actor=story.other_organiser,
            campaign=story.campaign,
            data=data,
            cipher=make_cipher(),
        )
