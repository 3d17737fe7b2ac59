"""Host organisations: admins register them and their members; organisers choose one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.audit.models import AuditEvent
from giving.campaigns import hosting
from giving.campaigns import services as campaigns
from giving.campaigns.models import CampaignState
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.hosts import services
from giving.hosts.models import CampaignHosting, HostOrganisation, HostRole
from tests.campaigns.factories import (
    log_in,
    make_admin,
    make_campaign,
    make_host,
    make_organiser,
    make_user,
)


def test_an_admin_registers_a_host_and_its_finance_members(session: Session) -> None:
    admin = make_admin(session)
    finance = make_user(session, email="chen@charity.example.org")
    host = make_host(session, admin, name="Chengdu Children's Foundation", country="cn")
    assert host.country == "CN"
    member = services.add_member(
        session, actor=admin, host=host, email="CHEN@charity.example.org", role="finance"
    )
    assert member.role_enum is HostRole.FINANCE
    # Adding again changes the role rather than duplicating the member.
    services.add_member(session, actor=admin, host=host, email=finance.email, role="member")
    assert [(m.user_id, m.role) for m in host.members] == [(finance.id, "member")]
    services.remove_member(session, actor=admin, host=host, user_id=finance.id)
    assert host.members == []
    actions = session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.subject_type == "host")
    ).all()
    assert actions == [
        "host.registered",
        "host.member_set",
        "host.member_set",
        "host.member_removed",
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": " "}, "name"),
        ({"registration_number": ""}, "registration_number"),
        ({"country": "XX"}, "country"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_phone": "call us"}, "contact_phone"),
    ],
)
def test_a_host_needs_its_registration_details(
    session: Session, overrides: dict[str, str], field: str
) -> None:
    admin = make_admin(session)
    with pytest.raises(ValidationError) as caught:
        make_host(session, admin, **overrides)
    assert caught.value.field == field
    assert session.scalar(sa.select(sa.func.count()).select_from(HostOrganisation)) == 0


def test_hosts_are_unique_and_only_admins_manage_them(session: Session) -> None:
    admin = make_admin(session)
    host = make_host(session, admin, name="Same Name", registration_number="R1")
    with pytest.raises(Conflict, match="name"):
        make_host(session, admin, name="Same Name", registration_number="R2")
    with pytest.raises(Conflict, match="registration number"):
        make_host(session, admin, name="Other Name", registration_number="R1")
    organiser = make_organiser(session)
    with pytest.raises(PermissionDenied):
        make_host(session, organiser)
    with pytest.raises(PermissionDenied):
        services.add_member(
            session, actor=organiser, host=host, email=organiser.email, role="finance"
        )
    with pytest.raises(ValidationError, match="register first"):
        services.add_member(
            session, actor=admin, host=host, email="nobody@example.org", role="finance"
        )
    with pytest.raises(ValidationError, match="finance or member"):
        services.add_member(session, actor=admin, host=host, email=organiser.email, role="boss")


def test_organisers_choose_a_host_while_drafting_and_admins_may_move_it(
    session: Session,
) -> None:
    admin = make_admin(session)
    first, second = make_host(session, admin), make_host(session, admin)
    campaign = make_campaign(session)
    owner = session.get(type(admin), campaign.created_by_id)
    assert owner is not None
    hosting.assign_host(session, actor=owner, campaign=campaign, host=first)
    hosting.assign_host(session, actor=owner, campaign=campaign, host=second)
    assert services.host_of(session, campaign) is second
    stranger = make_organiser(session)
    with pytest.raises(PermissionDenied):
        hosting.assign_host(session, actor=stranger, campaign=campaign, host=first)
    campaigns.submit_for_review(session, actor=owner, campaign=campaign)
    with pytest.raises(Conflict, match="draft"):
        hosting.assign_host(session, actor=owner, campaign=campaign, host=first)
    hosting.assign_host(session, actor=admin, campaign=campaign, host=first)
    assert session.get(CampaignHosting, campaign.id).host_id == first.id  # type: ignore[union-attr]
    assert hosting.campaigns_hosted_by(session, first) == [campaign]


def test_only_finance_members_of_the_campaigns_host_count_as_finance(session: Session) -> None:
    admin = make_admin(session)
    host, other = make_host(session, admin), make_host(session, admin)
    finance, member, outsider = make_user(session), make_user(session), make_user(session)
    services.add_member(session, actor=admin, host=host, email=finance.email, role="finance")
    services.add_member(session, actor=admin, host=host, email=member.email, role="member")
    services.add_member(session, actor=admin, host=other, email=outsider.email, role="finance")
    campaign = make_campaign(session, state=CampaignState.DRAFT)
    assert not services.is_host_finance(session, finance, campaign)  # no host chosen yet
    hosting.assign_host(session, actor=admin, campaign=campaign, host=host)
    assert services.is_host_finance(session, finance, campaign)
    assert services.host_role(session, member, campaign) is HostRole.MEMBER
    assert not services.is_host_finance(session, member, campaign)
    assert services.host_role(session, outsider, campaign) is None
    assert services.host_role(session, None, campaign) is None


def test_the_admin_pages_register_a_host_and_add_a_member(
    client: FlaskClient, session: Session
) -> None:
    admin = make_admin(session)
    finance = make_user(session)
    log_in(client, admin)
    form = client.get("/admin/hosts/new").get_data(as_text=True)
    assert '<option value="CN"' in form
    bad = client.post(
        "/admin/hosts/new",
        data={
            "name": "Foundation",
            "registration_number": "X1",
            "country": "CN",
            "contact_email": "x@example.org",
            "contact_phone": "nope",
        },
    )
    assert bad.status_code == 400
    assert 'value="Foundation"' in bad.get_data(as_text=True)
    created = client.post(
        "/admin/hosts/new",
        data={
            "name": "Foundation",
            "registration_number": "X1",
            "country": "CN",
            "contact_email": "x@example.org",
            "contact_phone": "+86 10 1234 5678",
        },
    )
    assert created.status_code == 302
    host = session.scalars(sa.select(HostOrganisation)).one()
    added = client.post(
        f"/admin/hosts/{host.id}/members", data={"email": finance.email, "role": "finance"}
    )
    assert added.status_code == 302
    page = client.get(f"/admin/hosts/{host.id}").get_data(as_text=True)
    assert finance.display_name in page
    assert "Finance" in page
    assert (
        client.post(
            f"/admin/hosts/{host.id}/members",
            data={"email": "ghost@example.org", "role": "finance"},
        ).status_code
        == 400
    )


def test_the_host_page_names_member_roles_in_chinese(client: FlaskClient, session: Session) -> None:
    admin = make_admin(session)
    host = make_host(session, admin)
    services.add_member(
        session, actor=admin, host=host, email=make_user(session).email, role=HostRole.FINANCE
    )
    log_in(client, admin)

    page = client.get(f"/admin/hosts/{host.id}", headers={"Accept-Language": "zh-CN"})

    body = page.get_data(as_text=True)
    assert "· 财务" in body  # the member's role
    assert '<option value="finance">财务</option>' in body
    assert '<option value="member">成员</option>' in body
    assert ">Finance<" not in body


def test_an_organiser_picks_the_host_on_its_own_page(client: FlaskClient, session: Session) -> None:
    admin = make_admin(session)
    host = make_host(session, admin, name="Yunnan Rural Education Fund")
    campaign = make_campaign(session)
    owner = session.get(type(admin), campaign.created_by_id)
    assert owner is not None
    log_in(client, owner)
    url = f"/my/campaigns/{campaign.public_id}/host"
    assert "Yunnan Rural Education Fund" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"host": str(host.id)})
    assert response.status_code == 302
    assert services.host_of(session, campaign) is not None
    assert client.post(url, data={"host": "999999"}).status_code == 400
    campaigns.submit_for_review(session, actor=owner, campaign=campaign)
    session.commit()
    refused = client.post(url, data={"host": str(host.id)})
    assert refused.status_code == 409
    assert "draft" in refused.get_data(as_text=True)


# --- a campaign goes live only with a host -------------------------------------------------


def test_an_unhosted_draft_shows_why_it_cannot_be_submitted_and_where_to_choose(
    client: FlaskClient, session: Session
) -> None:
    host = make_host(session, make_admin(session), name="Guizhou Mountain Schools Fund")
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner)
    log_in(client, owner)
    manage = f"/my/campaigns/{campaign.public_id}"
    choose = f'href="/my/campaigns/{campaign.public_id}/host"'

    page = client.get(manage).get_data(as_text=True)
    assert "Choose the host organisation first" in page
    assert choose in page
    assert "Submit for review" not in page

    # A submit from a stale page is refused on the campaign's page, with the way forward.
    refused = client.post(f"{manage}/submit")
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    alert = body[body.index('role="alert"') :]
    assert "Choose the host organisation first" in alert.split("</div>")[0]
    assert choose in alert.split("</div>")[0]
    session.expire_all()
    assert campaign.state == CampaignState.DRAFT
    assert not session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "campaign.submitted")
    ).all()

    assert client.post(f"{manage}/host", data={"host": str(host.id)}).status_code == 302
    page = client.get(manage).get_data(as_text=True)
    assert "Hosted by Guizhou Mountain Schools Fund." in page
    assert "Choose the host organisation first" not in page
    assert "Submit for review" in page
    assert client.post(f"{manage}/submit").status_code == 302
    session.expire_all()
    assert campaign.state == CampaignState.IN_REVIEW


def test_the_review_queue_shows_each_host_and_holds_back_an_unhosted_campaign(
    client: FlaskClient, session: Session
) -> None:
    admin = make_admin(session)
    host = make_host(session, admin, name="Gansu Rural Children Fund")
    hosted = make_campaign(session, admin=admin, host=host, state=CampaignState.IN_REVIEW)
    unhosted = make_campaign(
        session, admin=admin, state=CampaignState.IN_REVIEW, title="Winter boots"
    )
    # Submitted before hosts were required, say.
    session.execute(sa.delete(CampaignHosting).where(CampaignHosting.campaign_id == unhosted.id))
    log_in(client, admin)

    queue = client.get("/admin/reviews").get_data(as_text=True)
    assert f"Gansu Rural Children Fund (CN, {host.registration_number})" in queue
    assert "None chosen" in queue
    assert "it cannot go live" in queue
    assert f"/admin/campaigns/{hosted.public_id}/approve" in queue
    assert f"/admin/campaigns/{unhosted.public_id}/approve" not in queue

    refused = client.post(f"/admin/campaigns/{unhosted.public_id}/approve")
    assert refused.status_code == 409
    assert "no host organisation" in refused.get_data(as_text=True)
    assert client.post(f"/admin/campaigns/{hosted.public_id}/approve").status_code == 302
    session.expire_all()
    assert unhosted.state == CampaignState.IN_REVIEW
    assert hosted.state == CampaignState.LIVE
