"""What visitors see: the home page, the campaign list and a campaign's own page."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns import services
from giving.campaigns.models import Campaign, CampaignState
from giving.storage import app_storage
from tests.campaigns.factories import (
    image_bytes,
    log_in,
    make_admin,
    make_campaign,
    make_organiser,
)

BASE = "http://127.0.0.1:5000"  # the default GIVING_PUBLIC_URL


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"CAMPAIGNS_PER_PAGE": 2}


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def meta(body: str, prop: str) -> str | None:
    found = re.search(rf'<meta property="{re.escape(prop)}" content="([^"]*)"', body)
    return html.unescape(found.group(1)) if found else None


def live(session: Session, **overrides: Any) -> Campaign:
    return make_campaign(session, state=CampaignState.LIVE, **overrides)


# --- home --------------------------------------------------------------------------------


def test_home_shows_featured_and_newest_live_campaigns_only(
    client: FlaskClient, session: Session
) -> None:
    admin = make_admin(session)
    featured = live(session, admin=admin, title="Featured winter coats")
    services.set_featured(session, actor=admin, campaign=featured, featured=True)
    live(session, title="Newest school lunches")
    make_campaign(session, title="A private draft")
    make_campaign(session, state=CampaignState.IN_REVIEW, title="Waiting in review")
    body = text(client.get("/"))
    assert "Featured campaigns" in body
    assert body.index("Featured winter coats") < body.index("Newest campaigns")
    assert "Newest school lunches" in body
    assert body.count("Featured winter coats") == 1
    assert "A private draft" not in body
    assert "Waiting in review" not in body
    assert "Sichuan" in body  # region name on the card
    assert "CN¥0.00 raised of CN¥5,000.00" in body


def test_home_without_campaigns_says_so(client: FlaskClient) -> None:
    assert "There are no live campaigns yet." in text(client.get("/"))


# --- the campaign list -------------------------------------------------------------------


def test_search_matches_title_or_summary_in_any_case_and_in_chinese(
    client: FlaskClient, session: Session
) -> None:
    live(session, title="Winter Coats for Gansu")
    live(session, title="Lunches", summary="Hot LUNCHES for a village school.")
    live(session, title="山区孩子的冬衣", summary="为甘肃山区的孩子买冬衣。", language="zh")
    assert "Winter Coats for Gansu" in text(client.get("/campaigns?q=winter+coats"))
    found = text(client.get("/campaigns?q=hot+lunches"))
    assert "Lunches" in found
    assert "Winter Coats" not in found
    chinese = text(client.get("/campaigns", query_string={"q": "冬衣"}))
    assert "山区孩子的冬衣" in chinese
    assert "Winter Coats" not in chinese


@pytest.mark.parametrize("query", ["Sichuan", "sichuan province", "四川", "四川省"])
def test_search_finds_campaigns_by_the_province_they_help_in_either_language(
    client: FlaskClient, session: Session, query: str
) -> None:
    live(session, title="山区孩子的冬衣", summary="为山区的孩子买冬衣。", region="CN-SC")
    live(session, title="Lunches for Yunnan", summary="Hot lunches.", region="CN-YN")

    found = text(client.get("/campaigns", query_string={"q": query}))

    assert "山区孩子的冬衣" in found
    assert "Lunches for Yunnan" not in found


def test_search_by_a_province_prefix_finds_its_campaigns(
    client: FlaskClient, session: Session
) -> None:
    live(session, title="午餐计划", summary="为孩子提供午餐。", region="CN-YN")
    assert "午餐计划" in text(client.get("/campaigns", query_string={"q": "Yunnan"}))
    assert "午餐计划" in text(client.get("/campaigns", query_string={"q": "yun"}))
    assert "No campaigns match" in text(client.get("/campaigns", query_string={"q": "an"}))


def test_search_wildcards_are_matched_literally(client: FlaskClient, session: Session) -> None:
    live(session, title="Books for everyone")
    assert "No campaigns match" in text(client.get("/campaigns?q=%25"))
    assert "No campaigns match" in text(client.get("/campaigns?q=_ooks"))


def test_filters_by_region_category_and_state(client: FlaskClient, session: Session) -> None:
    live(session, title="Coats in Gansu", region="CN-GS", category="shelter")
    live(session, title="Books in Yunnan", region="CN-YN", category="education")
    make_campaign(session, state=CampaignState.CLOSED, title="Finished meals", category="food")
    make_campaign(session, state=CampaignState.FROZEN, title="Frozen one")
    by_region = text(client.get("/campaigns?region=CN-GS"))
    assert "Coats in Gansu" in by_region
    assert "Books in Yunnan" not in by_region
    assert "Books in Yunnan" in text(client.get("/campaigns?category=education"))
    closed = text(client.get("/campaigns?state=closed"))
    assert "Finished meals" in closed
    assert "Coats in Gansu" not in closed
    everything = text(client.get("/campaigns"))
    assert "Frozen one" not in everything
    assert "Finished meals" in everything


@pytest.mark.parametrize(
    "query",
    ["region=CN-XX", "category=weapons", "state=draft", "state=frozen", "q=" + "x" * 101],
)
def test_bad_filters_get_a_400_with_the_form_not_a_500(client: FlaskClient, query: str) -> None:
    response = client.get(f"/campaigns?{query}")
    assert response.status_code == 400
    assert "Some of the filters are not valid" in text(response)


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return None if found is None else html.unescape(found.group(1))


def test_pages_link_to_each_other_by_key_with_rel_prev_and_next(
    client: FlaskClient, session: Session
) -> None:
    campaigns = [live(session, title=f"Campaign number {n}", region="CN-YN") for n in range(5)]
    first = text(client.get("/campaigns?region=CN-YN"))
    assert "Campaign number 4" in first
    assert "Campaign number 3" in first
    assert "Campaign number 2" not in first
    assert "5 campaigns found" in first
    assert 'rel="prev"' not in first
    next_url = _link(first, "next")
    assert next_url is not None
    # The next page starts after the last campaign shown, not at an offset.
    assert parse_qs(urlsplit(next_url).query) == {
        "after": [campaigns[3].public_id],
        "region": ["CN-YN"],
    }
    second = text(client.get(next_url))
    assert "Campaign number 2" in second
    assert "Campaign number 1" in second
    assert "Campaign number 3" not in second
    last_url = _link(second, "next")
    assert last_url is not None
    last = text(client.get(last_url))
    assert "Campaign number 0" in last
    assert _link(last, "next") is None
    # Back again: each "newer" link gives the page that was shown before it.
    back_url = _link(last, "prev")
    assert back_url is not None
    assert parse_qs(urlsplit(back_url).query) == {
        "before": [campaigns[0].public_id],
        "region": ["CN-YN"],
    }
    back = text(client.get(back_url))
    assert "Campaign number 2" in back
    assert "Campaign number 1" in back
    top_url = _link(back, "prev")
    assert top_url is not None
    top = text(client.get(top_url))
    assert "Campaign number 4" in top
    assert "Campaign number 3" in top
    assert _link(top, "prev") is None


def test_a_campaign_published_meanwhile_does_not_repeat_or_skip_one(
    client: FlaskClient, session: Session
) -> None:
    for n in range(4):
        live(session, title=f"Campaign number {n}")
    first = text(client.get("/campaigns"))
    next_url = _link(first, "next")
    assert next_url is not None
    live(session, title="Campaign published meanwhile")
    second = text(client.get(next_url))
    # With an offset the newcomer would push number 2 onto this page a second time.
    assert "Campaign number 2" not in second
    assert "Campaign number 1" in second
    assert "Campaign number 0" in second


def test_a_page_whose_campaign_was_unlisted_says_so_with_a_way_back(
    client: FlaskClient, session: Session
) -> None:
    live(session)
    draft = make_campaign(session)
    response = client.get(f"/campaigns?after={draft.public_id}")
    assert response.status_code == 200
    assert "no longer available" in text(response)
    assert 'href="/campaigns"' in text(response)


@pytest.mark.parametrize(
    "query",
    ["after=a%20b", "before=%E4%B8%AD", "after=" + "c" * 65, "after=", "after=x&before=y"],
)
def test_nonsense_page_keys_are_400(client: FlaskClient, query: str) -> None:
    assert client.get(f"/campaigns?{query}").status_code == 400


# --- a campaign's page -------------------------------------------------------------------


def test_the_campaign_page_tells_the_whole_story(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    owner = make_organiser(session, name="Chen Jing")
    campaign = make_campaign(
        session,
        owner=owner,
        state=CampaignState.LIVE,
        title="Books & pencils",
        story="## Why\n\nBecause <script>alert(1)</script> **reading** matters.",
    )
    services.post_update(session, actor=owner, campaign=campaign, title="First", body="one")
    services.post_update(session, actor=owner, campaign=campaign, title="Second", body="two")
    response = client.get(f"/c/{campaign.slug}")
    assert response.status_code == 200
    body = text(response)
    assert '<h1 lang="en">Books &amp; pencils</h1>' in body
    assert "<strong>reading</strong>" in body
    assert "<script>alert" not in body
    assert "Chen Jing" in body
    assert "Sichuan" in body
    assert "Education" in body
    assert 'id="progress"' in body
    assert "Raised: CN¥0.00" in body
    assert "Goal: CN¥5,000.00" in body
    assert body.index('<h3 lang="en">Second</h3>') < body.index('<h3 lang="en">First</h3>')
    assert f'href="/c/{campaign.slug}/feed.atom"' in body
    assert 'type="application/atom+xml"' in body


def test_open_graph_tags_and_share_links_use_absolute_urls(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    owner = make_organiser(session)
    with app.app_context():
        storage = app_storage(app)
    campaign = make_campaign(
        session,
        owner=owner,
        state=CampaignState.LIVE,
        title="Coats & boots for Gansu",
        cover=services.CoverUpload(data=image_bytes("PNG"), storage=storage),
    )
    body = text(client.get(f"/c/{campaign.slug}"))
    url = f"{BASE}/c/{campaign.slug}"
    assert meta(body, "og:title") == "Coats & boots for Gansu"
    assert meta(body, "og:description") == campaign.summary
    assert meta(body, "og:url") == url
    assert meta(body, "og:type") == "website"
    assert meta(body, "og:image") == f"{BASE}/media/covers/{campaign.cover_image_key}"

    weibo = re.search(r'href="(https://service\.weibo\.com/share/share\.php\?[^"]+)"', body)
    assert weibo is not None
    query = parse_qs(urlsplit(html.unescape(weibo.group(1))).query)
    assert query == {"url": [url], "title": ["Coats & boots for Gansu"]}
    assert f'src="/c/{campaign.slug}/qr.svg"' in body
    assert "scan it with WeChat" in body


def test_a_frozen_campaign_shows_why(client: FlaskClient, session: Session) -> None:
    campaign = make_campaign(session, state=CampaignState.FROZEN)
    body = text(client.get(f"/c/{campaign.slug}"))
    assert "This campaign is frozen" in body
    assert "Checking receipts" in body


def test_unknown_slugs_are_404(client: FlaskClient) -> None:
    response = client.get("/c/no-such-campaign")
    assert response.status_code == 404
    assert "We could not find that campaign." in text(response)


@pytest.mark.parametrize("state", [CampaignState.DRAFT, CampaignState.IN_REVIEW])
def test_unpublished_campaigns_are_hidden_from_everyone_but_organisers_and_admins(
    app: Flask, session: Session, state: CampaignState
) -> None:
    owner = make_organiser(session)
    campaign = make_campaign(session, owner=owner, state=state)
    url = f"/c/{campaign.slug}"
    assert app.test_client().get(url).status_code == 404
    stranger = app.test_client()
    log_in(stranger, make_organiser(session))
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"{url}/qr.svg").status_code == 404
    organiser = app.test_client()
    log_in(organiser, owner)
    page = organiser.get(url)
    assert page.status_code == 200
    assert "This is a preview" in text(page)
    admin = app.test_client()
    log_in(admin, make_admin(session))
    assert admin.get(url).status_code == 200
    # Feeds are for the public only.
    assert organiser.get(f"{url}/feed.atom").status_code == 404


def test_the_public_id_link_redirects_to_the_readable_one(
    client: FlaskClient, session: Session
) -> None:
    campaign = live(session)
    response = client.get(f"/c/by-id/{campaign.public_id}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/c/{campaign.slug}")
    assert client.get("/c/by-id/cnotarealid00").status_code == 404
    hidden = make_campaign(session)
    assert client.get(f"/c/by-id/{hidden.public_id}").status_code == 404


def test_region_names_follow_the_visitors_language(client: FlaskClient, session: Session) -> None:
    live(session, title="Coats for Gansu", region="CN-GS")
    assert "Gansu" in text(client.get("/campaigns", headers={"Accept-Language": "en"}))
    chinese = text(client.get("/campaigns", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    assert "甘肃" in chinese
    assert '<option value="CN-HK">香港</option>' in chinese


def test_a_chinese_campaign_is_marked_as_chinese_text(
    client: FlaskClient, session: Session
) -> None:
    campaign = live(session, title="山区孩子的冬衣", summary="为孩子买冬衣。", language="zh")
    body = text(client.get(f"/c/{campaign.slug}"))
    assert '<h1 lang="zh-Hans">山区孩子的冬衣</h1>' in body
    assert campaign.slug == campaign.public_id
