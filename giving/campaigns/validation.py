"""Checking what organisers type, and minting a campaign's public id and slug.

Pure rules without permissions or state: ``services`` calls them before it changes anything.
Messages passed around before an error are lazy strings, translated only when shown, so the
happy path also works outside a request (CLI commands, jobs, demo data).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from giving.campaigns.models import (
    CAMPAIGN_TIME_ZONE,
    Campaign,
    CampaignCategory,
    ContentLanguage,
)
from giving.campaigns.regions import is_region
from giving.db import utcnow
from giving.errors import ValidationError
from giving.money import MAX_AMOUNT_MINOR, Money
from giving.text import slugify

TITLE_MAX = 120
SUMMARY_MAX = 300
STORY_MAX = 20_000
REASON_MAX = 2_000
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
# Slugs that would read as another route under /c/.
_RESERVED_SLUGS = frozenset({"by-id", "new"})


def today() -> dt.date:
    """Today where campaigns keep their dates (models.CAMPAIGN_TIME_ZONE)."""
    return utcnow().astimezone(CAMPAIGN_TIME_ZONE).date()


def new_public_id() -> str:
    """ "c" and 12 random base32 characters: about 60 bits, never reused, never changed."""
    return "c" + "".join(secrets.choice(_BASE32) for _ in range(12))


def is_public_id(text: str) -> bool:
    """Whether ``text`` could be a public id (checked before any lookup).

    Looser than new_public_id's shape: ids made by imports and benchmarks are short
    lower-case ASCII words too, and a wrong one simply names nothing.
    """
    return 0 < len(text) <= 64 and text.isascii() and text.isalnum()


def unique_slug(session: Session, title: str, public_id: str, *, exclude_id: int | None) -> str:
    """A readable slug from the title, numbered -2, -3… if taken.

    Titles without Latin letters (e.g. Chinese-only) fall back to the public id, which is
    unique already and at least gives a stable, short address.
    """
    base = slugify(title) or public_id
    if base in _RESERVED_SLUGS:
        base = f"{base}-campaign"
    stmt = sa.select(Campaign.slug).where(
        sa.or_(Campaign.slug == base, Campaign.slug.like(f"{base}-%"))
    )
    if exclude_id is not None:
        stmt = stmt.where(Campaign.id != exclude_id)
    taken = set(session.scalars(stmt))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def clean_text(value: str, *, field: str, maximum: int, required_message: object) -> str:
    """Trimmed text that is present and not too long; ``required_message`` may be lazy."""
    text = (value or "").strip()
    if not text:
        raise ValidationError(str(required_message), field=field)
    if len(text) > maximum:
        raise ValidationError(_("Use at most %(max)s characters.", max=maximum), field=field)
    return text


def check_ends_on(ends_on: dt.date | None) -> None:
    if ends_on is not None and ends_on <= today():
        raise ValidationError(
            _("Choose an end date in the future, or leave it empty."), field="ends_on"
        )


@dataclass(frozen=True, slots=True)
class CampaignContent:
    """A campaign's editable content, checked field by field."""

    title: str
    summary: str
    story: str
    language: str
    goal: Money
    ends_on: dt.date | None
    region: str
    category: str


def clean_content(
    *,
    title: str,
    summary: str,
    story: str,
    language: str,
    goal: Money,
    ends_on: dt.date | None,
    region: str,
    category: str,
) -> CampaignContent:
    """Check everything except the end date (whose rule depends on whether it changed)."""
    title = clean_text(
        title, field="title", maximum=TITLE_MAX, required_message=_l("Give the campaign a title.")
    )
    if len(title) < 3:
        raise ValidationError(_("Use at least 3 characters for the title."), field="title")
    summary = clean_text(
        summary,
        field="summary",
        maximum=SUMMARY_MAX,
        required_message=_l("Sum the campaign up in a sentence or two."),
    )
    story = clean_text(
        story, field="story", maximum=STORY_MAX, required_message=_l("Tell the campaign's story.")
    )
    if language not in {lang.value for lang in ContentLanguage}:
        raise ValidationError(_("Choose English or Chinese."), field="language")
    if not is_region(region):
        raise ValidationError(_("Choose a region from the list."), field="region")
    if category not in {cat.value for cat in CampaignCategory}:
        raise ValidationError(_("Choose a category from the list."), field="category")
    if goal.amount_minor <= 0:
        raise ValidationError(_("The goal must be more than zero."), field="goal")
    if goal.amount_minor > MAX_AMOUNT_MINOR:
        raise ValidationError(_("That goal is larger than Giving accepts."), field="goal")
    return CampaignContent(title, summary, story, language, goal, ends_on, region, category)
