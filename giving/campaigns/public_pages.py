"""Pages anyone can read: the campaign list, a campaign, its feed, QR code and cover image."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote, urlencode

import segno
from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from giving.accounts.current import current_actor
from giving.campaigns import queries
from giving.campaigns.feeds import ATOM_CONTENT_TYPE, campaign_feed
from giving.campaigns.forms import SearchForm
from giving.campaigns.models import Campaign
from giving.campaigns.uploads import content_type_for
from giving.campaigns.validation import is_public_id
from giving.config import current_settings
from giving.db import utcnow
from giving.disbursements import queries as disbursement_queries
from giving.impact.views import figures_for
from giving.payments.queries import recent_supporters
from giving.storage import app_storage
from giving.web import db_session

WEIBO_SHARE = "https://service.weibo.com/share/share.php"
ONE_YEAR = 365 * 24 * 3600


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on the public site (for sharing, feeds and QR codes)."""
    path = url_for(endpoint, **values)
    return f"{current_settings().public_base_url}{path}"


def campaign_url(campaign: Campaign) -> str:
    return public_url("campaigns.show_campaign", slug=campaign.slug)


def weibo_share_url(campaign: Campaign) -> str:
    query = urlencode({"url": campaign_url(campaign), "title": campaign.title}, quote_via=quote)
    return f"{WEIBO_SHARE}?{query}"


def list_campaigns() -> ResponseReturnValue:
    form = SearchForm(request.args)
    per_page = int(current_app.config["CAMPAIGNS_PER_PAGE"])
    after, before = _cursor_arg("after"), _cursor_arg("before")
    if after is not None and before is not None:
        abort(400, description=_("Ask for the page after a campaign or before it, not both."))
    if not form.validate():
        return render_template("campaigns/list.html", form=form, page=None, progress={}), 400
    filters = queries.CampaignFilters(
        q=form.q.data or "",
        region=form.region.data or "",
        category=form.category.data or "",
        state=form.state.data or "",
    )
    session = db_session()
    page = queries.search_campaigns(session, filters, per_page=per_page, after=after, before=before)
    args: dict[str, Any] = {
        key: value
        for key, value in request.args.items()
        if key not in {"after", "before", "page"} and value
    }
    return render_template(
        "campaigns/list.html",
        form=form,
        page=page,
        progress=queries.progress_by_campaign(session, page.items),
        page_url=lambda **cursor: url_for("campaigns.list_campaigns", **cursor, **args),
    )


def _cursor_arg(name: str) -> str | None:
    """A page key from the query string: a campaign's public id, or absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not is_public_id(raw):
        abort(400, description=_("“%(name)s” must be a campaign's id.", name=name))
    return raw


def show_campaign(slug: str) -> ResponseReturnValue:
    session = db_session()
    actor = current_actor()
    campaign = queries.campaign_by_slug(session, slug, actor=actor)
    # The page shows spending and children helped beside the story: each read here, by the
    # package that owns it, so the template only formats.
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        progress=queries.campaign_progress(session, campaign),
        has_ended=campaign.has_ended(utcnow()),
        money_flow=disbursement_queries.campaign_money_flow(session, campaign)
        if campaign.is_public
        else None,
        budget_rows=disbursement_queries.budget_vs_actual(session, campaign)
        if campaign.is_public
        else None,
        supporters=recent_supporters(session, campaign.id),
        impact=figures_for(campaign),
        updates=sorted(campaign.updates, key=lambda u: u.published_at, reverse=True),
        is_organiser=campaign.is_organiser(actor),
        campaign_url=campaign_url(campaign),
        cover_absolute_url=(
            public_url("campaigns.cover_image", key=campaign.cover_image_key)
            if campaign.cover_image_key
            else None
        ),
        weibo_url=weibo_share_url(campaign),
    )


def campaign_by_id(public_id: str) -> ResponseReturnValue:
    campaign = queries.campaign_by_public_id(db_session(), public_id, actor=current_actor())
    # A public campaign's slug never changes again, so that redirect may be cached for good;
    # a draft's slug still follows its title.
    code = 301 if campaign.is_public else 302
    return redirect(url_for("campaigns.show_campaign", slug=campaign.slug), code=code)


def campaign_qr(slug: str) -> ResponseReturnValue:
    """An SVG QR code of the campaign's address, for sharing on WeChat."""
    campaign = queries.campaign_by_slug(db_session(), slug, actor=current_actor())
    buffer = io.BytesIO()
    segno.make(campaign_url(campaign), error="m").save(
        buffer,
        kind="svg",
        scale=4,
        border=2,
        xmldecl=True,
        title=_("QR code for %(title)s", title=campaign.title),
    )
    response = current_app.response_class(buffer.getvalue(), mimetype="image/svg+xml")
    response.cache_control.max_age = 3600
    if campaign.is_public:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    return response


def campaign_atom(slug: str) -> ResponseReturnValue:
    # Feeds are read anonymously by feed readers, so only public campaigns have one.
    campaign = queries.campaign_by_slug(db_session(), slug, actor=None)
    body = campaign_feed(
        campaign,
        base_url=current_settings().public_base_url,
        campaign_url=campaign_url(campaign),
        feed_url=public_url("campaigns.campaign_atom", slug=campaign.slug),
    )
    response = current_app.response_class(body, content_type=ATOM_CONTENT_TYPE)
    response.cache_control.public = True
    response.cache_control.max_age = 600
    return response


def cover_image(key: str) -> ResponseReturnValue:
    """A campaign's cover; only files that are some visible campaign's cover are served."""
    campaign = queries.campaign_by_cover_key(db_session(), key, actor=current_actor())
    try:
        data = app_storage(current_app).read(key)
    except FileNotFoundError:
        abort(404)
    # Covers are small re-encoded images, read whole so no file handle outlives the request;
    # the key is unique and its bytes never change, so it is a perfect ETag.
    response = send_file(
        io.BytesIO(data),
        mimetype=content_type_for(key),
        conditional=True,
        etag=key,
        max_age=ONE_YEAR,
    )
    if campaign.is_public:
        # Keys are random and files are never rewritten, so the bytes behind a URL never change.
        response.cache_control.public = True
        response.cache_control.immutable = True
    else:
        response.cache_control.public = False
        response.cache_control.private = True
        response.cache_control.no_cache = True
        response.cache_control.max_age = 0
    return response
