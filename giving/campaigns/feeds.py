"""Atom 1.0 (RFC 4287) feeds of a campaign's updates, so donors can follow it in a reader.

Built with ElementTree rather than a template so every piece of organiser-written text is
escaped by the serialiser. Ids are tag URIs (RFC 4151) made from the campaign's immutable
public id, so a feed reader keeps recognising entries even if the page URL changes.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from giving.campaigns.models import Campaign
from giving.text import plain_text, render_markdown

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag(campaign: Campaign, base_url: str, *parts: str) -> str:
    authority = urlsplit(base_url).hostname or "giving.invalid"
    minted = campaign.created_at.astimezone(dt.UTC).date().isoformat()
    return ":".join([f"tag:{authority},{minted}", "campaign", campaign.public_id, *parts])


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def campaign_feed(campaign: Campaign, *, base_url: str, campaign_url: str, feed_url: str) -> bytes:
    """The Atom document for ``campaign``'s updates, newest first, as UTF-8 bytes."""
    updates = sorted(campaign.updates, key=lambda update: update.published_at, reverse=True)
    last_change = campaign.published_at or campaign.created_at
    if updates:
        last_change = max(last_change, updates[0].published_at)

    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", campaign.language)
    _sub(feed, "id", _tag(campaign, base_url))
    _sub(feed, "title", campaign.title)
    _sub(feed, "subtitle", plain_text(campaign.summary))
    _sub(feed, "updated", _timestamp(last_change))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=campaign_url)
    author = _sub(feed, "author")
    owners = [row.user.display_name for row in campaign.organisers] or ["Giving"]
    _sub(author, "name", owners[0])
    _sub(feed, "generator", "Giving")

    for update in updates:
        entry = _sub(feed, "entry")
        _sub(entry, "id", _tag(campaign, base_url, "update", str(update.id)))
        _sub(entry, "title", update.title)
        _sub(entry, "published", _timestamp(update.published_at))
        _sub(entry, "updated", _timestamp(update.published_at))
        _sub(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{campaign_url}#update-{update.id}",
        )
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", update.author.display_name)
        _sub(entry, "content", str(render_markdown(update.body)), type="html")

    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document
