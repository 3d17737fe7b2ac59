"""The campaigns blueprint: which URL runs which page, and the helpers templates use.

Handlers live in ``public_pages`` (anyone) and ``organiser_pages`` (logged-in organisers);
this file only maps URLs, so the whole public surface of campaigns reads in one screen.
Organiser URLs use the immutable public id, public ones the readable slug.
"""

from __future__ import annotations

from flask import Blueprint, url_for

from giving.campaigns import organiser_pages as org
from giving.campaigns import public_pages as pub
from giving.campaigns.models import Campaign
from giving.campaigns.regions import region_name
from giving.i18n import current_language

bp = Blueprint("campaigns", __name__)

_GET = ["GET"]
_POST = ["POST"]
_FORM = ["GET", "POST"]

# Public pages.
bp.add_url_rule("/campaigns", "list_campaigns", pub.list_campaigns, methods=_GET)
bp.add_url_rule("/c/by-id/<public_id>", "campaign_by_id", pub.campaign_by_id, methods=_GET)
bp.add_url_rule("/c/<slug>", "show_campaign", pub.show_campaign, methods=_GET)
bp.add_url_rule("/c/<slug>/qr.svg", "campaign_qr", pub.campaign_qr, methods=_GET)
bp.add_url_rule("/c/<slug>/feed.atom", "campaign_atom", pub.campaign_atom, methods=_GET)
bp.add_url_rule("/media/covers/<key>", "cover_image", pub.cover_image, methods=_GET)

# Organisers.
bp.add_url_rule("/my/campaigns", "my_campaigns", org.my_campaigns, methods=_GET)
bp.add_url_rule("/my/campaigns/new", "new_campaign", org.new_campaign, methods=_FORM)
bp.add_url_rule("/my/campaigns/<public_id>", "manage_campaign", org.manage_campaign, methods=_GET)
bp.add_url_rule("/my/campaigns/<public_id>/edit", "edit_campaign", org.edit_campaign, methods=_FORM)
bp.add_url_rule(
    "/my/campaigns/<public_id>/submit", "submit_campaign", org.submit_campaign, methods=_POST
)
bp.add_url_rule(
    "/my/campaigns/<public_id>/close", "close_campaign", org.close_campaign, methods=_POST
)
bp.add_url_rule("/my/campaigns/<public_id>/updates", "post_update", org.post_update, methods=_POST)
bp.add_url_rule(
    "/my/campaigns/<public_id>/invitations",
    "invite_co_organiser",
    org.invite_co_organiser,
    methods=_POST,
)
bp.add_url_rule("/invitations/<token>", "accept_invitation", org.accept_invitation, methods=_FORM)


@bp.app_template_global("region_name")
def _region_name(code: str) -> str:
    return region_name(code, current_language())


@bp.app_template_global("cover_url")
def _cover_url(campaign: Campaign) -> str | None:
    if not campaign.cover_image_key:
        return None
    return url_for("campaigns.cover_image", key=campaign.cover_image_key)
