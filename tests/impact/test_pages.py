"""The registry over HTTP: organisers register, import, read, edit and erase; others cannot."""

from __future__ import annotations

import html
import io
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.impact import services
from giving.impact.models import BeneficiaryChild, ChildAccessLog, DisbursementBeneficiary
from tests.campaigns.factories import log_in
from tests.disbursements.support import Story
from tests.impact.support import grant_auditor, register

HEADER = "code,age_band,sex,province,city,needs,consent,consent_date,notes\n"


def as_user(client: FlaskClient, user: User | None) -> FlaskClient:
    if user is not None:
        log_in(client, user)
    return client


def url(story: Story, suffix: str = "") -> str:
    return f"/registry/{story.campaign.public_id}/children{suffix}"


def children(session: Session) -> list[BeneficiaryChild]:
    return list(session.scalars(sa.select(BeneficiaryChild).order_by(BeneficiaryChild.id)))


def test_an_organiser_registers_a_child_through_the_form(
    client: FlaskClient, story: Story, session: Session
) -> None:
    session.commit()
    as_user(client, story.organiser)
    page = client.get(url(story, "/new"))
    assert page.status_code == 200
    assert 'name="robots" content="noindex' in page.get_data(as_text=True)
    response = client.post(
        url(story, "/new"),
        data={
            "code": "",
            "age_band": "6-11",
            "sex": "female",
            "province": "CN-SC",
            "city": "Xichang",
            "needs": ["education", "health"],
            "needs_detail": "Glasses",
            "consent": "y",
            "consent_date": "2026-03-01",
            "notes": "Walks an hour to school",
        },
    )
    assert response.status_code == 302
    [child] = children(session)
    listing_response = client.get(url(story))
    assert "no-store" in listing_response.headers["Cache-Control"]
    listing = listing_response.get_data(as_text=True)
    assert child.code in listing
    assert "Xichang" not in listing
    detail = client.get(url(story, f"/{child.ref}")).get_data(as_text=True)
    assert "Xichang" in detail
    assert "Walks an hour to school" in detail
    kinds = list(session.scalars(sa.select(ChildAccessLog.kind).order_by(ChildAccessLog.id)))
    assert kinds == ["listed", "viewed"]
    log_page = client.get(f"/registry/{story.campaign.public_id}/access-log").get_data(as_text=True)
    assert "Opened the full record" in log_page
    assert story.organiser.display_name in log_page


def test_a_form_with_a_village_keeps_what_was_typed_and_says_why(
    client: FlaskClient, story: Story, session: Session
) -> None:
    session.commit()
    as_user(client, story.organiser)
    response = client.post(
        url(story, "/new"),
        data={
            "age_band": "3-5",
            "sex": "male",
            "province": "CN-YN",
            "city": "Lijiang Shuhe village",
            "consent": "",
        },
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "never a village" in body
    assert 'value="Lijiang Shuhe village"' in body
    assert children(session) == []


def test_a_chinese_organiser_gets_a_chinese_template_and_problems_under_chinese_headings(
    client: FlaskClient, story: Story, session: Session
) -> None:
    session.commit()
    as_user(client, story.organiser)
    zh = {"Accept-Language": "zh-CN"}

    template = client.get(url(story, "/template.csv"), headers=zh)
    text = template.data.decode("utf-8-sig")
    assert text.startswith("编号,年龄,性别,省份,城市,需求,监护人同意,同意日期,备注")
    assert ",女,云南," in text

    bad = (text + ",99,女,云南,,教育,是,2026-03-01,\r\n").encode()
    response = client.post(
        url(story, "/import"), data={"file": (io.BytesIO(bad), "儿童.csv")}, headers=zh
    )
    assert response.status_code == 400
    assert "<td>3</td><td>年龄</td>" in response.get_data(as_text=True)
    assert children(session) == []


def test_a_bad_csv_shows_every_problem_and_imports_nothing(
    client: FlaskClient, story: Story, session: Session
) -> None:
    session.commit()
    as_user(client, story.organiser)
    data = (HEADER + ",6-11,,CN-YN,,,yes,2026-03-01,\n,99,,CN-YN,,,no,,\n").encode()
    response = client.post(url(story, "/import"), data={"file": (io.BytesIO(data), "children.csv")})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Nothing was imported" in body
    assert "<td>3</td><td>age_band</td>" in body
    assert children(session) == []
    good = (HEADER + ",6-11,,CN-YN,,,yes,2026-03-01,\n,3-5,,CN-YN,,,no,,\n").encode()
    response = client.post(url(story, "/import"), data={"file": (io.BytesIO(good), "children.csv")})
    assert response.status_code == 302
    assert len(children(session)) == 2
    template = client.get(url(story, "/template.csv"))
    assert template.mimetype == "text/csv"
    assert template.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two
    assert template.data.startswith(b"\xef\xbb\xbfcode,age_band")


def test_editing_and_erasing(client: FlaskClient, story: Story, session: Session) -> None:
    child = register(story, city="Xichang", notes="old note")
    session.commit()
    as_user(client, story.organiser)
    form = client.get(url(story, f"/{child.ref}/edit")).get_data(as_text=True)
    assert 'value="Xichang"' in form
    assert "old note" in form
    response = client.post(
        url(story, f"/{child.ref}/edit"),
        data={
            "code": child.code,
            "age_band": "12-14",
            "sex": "female",
            "province": "CN-SC",
            "city": "Chengdu",
            "consent": "",
        },
    )
    assert response.status_code == 302
    assert "Chengdu" in client.get(url(story, f"/{child.ref}")).get_data(as_text=True)
    # Erasing needs the box ticked.
    client.post(url(story, f"/{child.ref}/erase"), data={})
    assert children(session)[0].erased_at is None
    assert client.post(url(story, f"/{child.ref}/erase"), data={"confirm": "y"}).status_code == 302
    session.expire_all()
    assert children(session)[0].code is None
    assert client.get(url(story, f"/{child.ref}")).status_code == 404


def test_linking_from_the_disbursement_page(
    client: FlaskClient, story: Story, session: Session
) -> None:
    kids = [register(story) for _ in range(2)]
    request = story.request()
    session.commit()
    as_user(client, story.organiser)
    page = client.get(f"/finance/{story.campaign.public_id}/disbursements/{request.id}").get_data(
        as_text=True
    )
    assert "Children this payment reached" in page
    assert kids[0].code in page
    response = client.post(
        f"/registry/{story.campaign.public_id}/disbursements/{request.id}/children",
        data={"children": [kids[0].ref]},
    )
    assert response.status_code == 302
    assert session.scalars(sa.select(DisbursementBeneficiary.child_id)).all() == [kids[0].id]


def test_read_only_viewers_see_the_registry_but_not_its_controls(
    client: FlaskClient, story: Story, session: Session
) -> None:
    grant_auditor(story)
    register(story)
    session.commit()
    for viewer in (story.finance, story.auditor, story.admin):
        as_user(client, viewer)
        body = client.get(url(story)).get_data(as_text=True)
        assert "Register a child" not in body
        assert client.get(url(story, "/new")).status_code == 403


def test_strangers_get_not_found_everywhere(
    client: FlaskClient, story: Story, session: Session
) -> None:
    child = register(story)
    session.commit()
    paths = [url(story), url(story, f"/{child.ref}"), url(story, "/new"), url(story, "/import")]
    for path in paths:
        assert client.get(path).status_code == 404
    as_user(client, story.other_organiser)
    for path in paths:
        assert client.get(path).status_code == 404
    assert client.post(url(story, f"/{child.ref}/erase"), data={"confirm": "y"}).status_code == 404
    assert session.scalar(sa.select(sa.func.count(ChildAccessLog.id))) == 0


def test_a_request_page_logs_one_listing_read_per_child_per_view(
    client: FlaskClient, story: Story, session: Session
) -> None:
    # The page lists the children for "reached", "shows a child" and the upload slots; the
    # access log should say once per view that this reader saw the list, not three times.
    first, second = register(story), register(story)
    request = story.request()
    session.commit()
    as_user(client, story.organiser)
    page = client.get(f"/finance/{story.campaign.public_id}/disbursements/{request.id}")
    assert page.status_code == 200
    assert first.code in page.get_data(as_text=True)
    listed = list(
        session.scalars(sa.select(ChildAccessLog.child_id).where(ChildAccessLog.kind == "listed"))
    )
    assert sorted(listed) == sorted([first.id, second.id])


def _codes(page: str) -> list[str]:
    return re.findall(r">(PG-\d)</a></th>", page)


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return None if found is None else html.unescape(found.group(1))


def test_the_registry_pages_by_code_both_ways(
    client: FlaskClient, story: Story, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "REGISTRY_PAGE_SIZE", 2)
    for n in (5, 3, 1, 4, 2):
        register(story, code=f"PG-{n}")
    session.commit()
    as_user(client, story.organiser)
    first = client.get(url(story)).get_data(as_text=True)
    assert _codes(first) == ["PG-1", "PG-2"]
    assert "5 children registered" in first
    assert _link(first, "prev") is None
    second_url = _link(first, "next")
    assert second_url is not None
    assert second_url.endswith("?after=PG-2")
    second = client.get(second_url).get_data(as_text=True)
    assert _codes(second) == ["PG-3", "PG-4"]
    last_url = _link(second, "next")
    assert last_url is not None
    last = client.get(last_url).get_data(as_text=True)
    assert _codes(last) == ["PG-5"]
    assert _link(last, "next") is None
    back_url = _link(last, "prev")
    assert back_url is not None
    assert back_url.endswith("?before=PG-5")
    back = client.get(back_url).get_data(as_text=True)
    assert _codes(back) == ["PG-3", "PG-4"]
    top_url = _link(back, "prev")
    assert top_url is not None
    top = client.get(top_url).get_data(as_text=True)
    assert _codes(top) == ["PG-1", "PG-2"]
    assert _link(top, "prev") is None
    # Only what was shown is logged as seen: two pages of two and one of one, then two more.
    listed = session.scalar(
        sa.select(sa.func.count(ChildAccessLog.id)).where(ChildAccessLog.kind == "listed")
    )
    assert listed == 2 + 2 + 1 + 2 + 2


def test_a_registry_page_past_the_end_says_so(
    client: FlaskClient, story: Story, session: Session
) -> None:
    register(story, code="PG-1")
    session.commit()
    as_user(client, story.organiser)
    page = client.get(url(story, "?after=PG-9")).get_data(as_text=True)
    assert "past the end" in page
    assert "No children are registered yet" not in page


@pytest.mark.parametrize("query", ["after=", "after=pg 1", "before=" + "A" * 80, "after=--"])
def test_nonsense_registry_page_keys_are_400(
    client: FlaskClient, story: Story, session: Session, query: str
) -> None:
    session.commit()
    as_user(client, story.organiser)
    assert client.get(url(story, f"?{query}")).status_code == 400
