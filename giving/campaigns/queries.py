"""The read side of campaigns: lookups with visibility rules, lists, search and progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import (
    LISTED_STATES,
    Campaign,
    CampaignOrganiser,
    CampaignState,
)
from giving.campaigns.regions import regions_named_by
from giving.errors import NotFound
from giving.ledger.balances import donor_counts, summaries_of


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    """How far a campaign is towards its goal, in the campaign's currency."""

    raised_minor: int
    donors: int
    percent: int
    currency: str
    goal_minor: int


def campaign_progress(session: Session, campaign: Campaign) -> CampaignProgress:
    """Money raised so far, derived from the ledger (DESIGN §3); pending gifts never count.

    Raised is what donors gave less refunds and disputes (fees are costs of money raised, so
    they are not subtracted here); donors are distinct donor commitments; the percentage is
    clamped to 0..100 for the progress bar.
    """
    return progress_by_campaign(session, [campaign])[campaign.id]


def progress_by_campaign(
    session: Session, campaigns: Sequence[Campaign]
) -> dict[int, CampaignProgress]:
    """Progress for each card on a page, keyed by campaign id: two queries for the page.

    Both read figures the ledger's sequencer keeps (giving/ledger/figures.py), so a card
    costs the same for a campaign with a million gifts as for one with ten.
    """

    public_ids = [campaign.public_id for campaign in campaigns]
    summaries = summaries_of(session, public_ids)
    donors = donor_counts(session, public_ids)
    progress: dict[int, CampaignProgress] = {}
    for campaign in campaigns:
        summary = summaries[campaign.public_id].in_currency(campaign.currency)
        raised = max(0, summary.gross_raised - summary.refunds - summary.disputes)
        goal = campaign.goal_minor
        progress[campaign.id] = CampaignProgress(
            raised_minor=raised,
            donors=donors.get(campaign.public_id, 0),
            percent=min(100, raised * 100 // goal) if goal > 0 else 0,
            currency=campaign.currency,
            goal_minor=goal,
        )
    return progress
    # --- end payments (issue 4) ---


# --- single campaigns, with who may see them ---------------------------------------------


def can_view(campaign: Campaign, actor: User | None) -> bool:
    """Everyone sees public campaigns; drafts and reviews only their organisers and admins."""
    if campaign.is_public:
        return True
    return actor is not None and (actor.is_admin or campaign.is_organiser(actor))


def _visible(campaign: Campaign | None, actor: User | None) -> Campaign:
    # A hidden campaign is reported as missing, so its existence does not leak either.
    if campaign is None or not can_view(campaign, actor):
        raise NotFound(_("We could not find that campaign."))
    return campaign


def campaign_by_slug(session: Session, slug: str, *, actor: User | None) -> Campaign:
    return _visible(session.scalar(sa.select(Campaign).where(Campaign.slug == slug)), actor)


def campaign_or_404(session: Session, public_id: str) -> Campaign:
    """The campaign with this public id whatever its state, for pages that then apply their
    own access rule (books, registry, admin, organisers); NotFound if there is none."""
    campaign = (
        None
        if "\x00" in public_id
        else session.scalar(sa.select(Campaign).where(Campaign.public_id == public_id))
    )
    if campaign is None:
        raise NotFound(_("We could not find that campaign."))
    return campaign


def campaign_by_public_id(session: Session, public_id: str, *, actor: User | None) -> Campaign:
    # No id holds a NUL, and PostgreSQL refuses one in a text parameter outright.
    campaign = (
        None
        if "\x00" in public_id
        else session.scalar(sa.select(Campaign).where(Campaign.public_id == public_id))
    )
    return _visible(campaign, actor)


def campaign_by_cover_key(session: Session, key: str, *, actor: User | None) -> Campaign:
    """The campaign whose cover has this storage key; other stored files are never served."""
    campaign = session.scalar(sa.select(Campaign).where(Campaign.cover_image_key == key))
    return _visible(campaign, actor)


# --- lists -------------------------------------------------------------------------------


def featured_campaigns(session: Session, *, limit: int = 6) -> list[Campaign]:
    stmt = (
        sa.select(Campaign)
        .where(Campaign.state == CampaignState.LIVE.value, Campaign.featured.is_(True))
        .order_by(Campaign.published_at.desc(), Campaign.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def newest_campaigns(session: Session, *, limit: int = 6) -> list[Campaign]:
    stmt = (
        sa.select(Campaign)
        .where(Campaign.state == CampaignState.LIVE.value)
        .order_by(Campaign.published_at.desc(), Campaign.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class CampaignFilters:
    """What a visitor searched for; empty strings mean "any"."""

    q: str = ""
    region: str = ""
    category: str = ""
    state: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a campaign search, with the keys of the pages either side of it.

    Pages are cut by key, not by position: ``newer_than`` and ``older_than`` are the public
    ids of the first and last campaign shown (None where there is nothing further that
    way), passed back as ``before`` and ``after``, so a later page costs the same as the
    first however many campaigns precede it. ``stale`` says the key a visitor came with no
    longer names a listed campaign (it was unlisted since), which the page explains.
    """

    items: list[Campaign]
    total: int
    newer_than: str | None = None
    older_than: str | None = None
    stale: bool = False


def search_campaigns(
    session: Session,
    filters: CampaignFilters,
    *,
    per_page: int,
    after: str | None = None,
    before: str | None = None,
) -> Page:
    """Public campaigns matching ``filters``, newest first, one page of them.

    ``after`` (a public id) asks for the page of campaigns older than that one, ``before``
    for the page newer than it; neither, the first page. The text search is a
    case-insensitive substring match over title and summary, which also works for Chinese
    (no word boundaries needed); LIKE wildcards typed by the visitor are matched literally.
    A query that names a province, in English (pinyin) or Chinese ("Sichuan", "四川省"),
    also finds the campaigns in it, whatever language they are in.
    """
    states = [filters.state] if filters.state else [state.value for state in LISTED_STATES]
    # Every listed campaign was published (services.approve stamps it), so the key is total.
    conditions: list[sa.ColumnElement[bool]] = [
        Campaign.state.in_(states),
        Campaign.published_at.is_not(None),
    ]
    query = filters.q.strip()
    if query:
        conditions.append(
            sa.or_(
                Campaign.title.icontains(query, autoescape=True),
                Campaign.summary.icontains(query, autoescape=True),
                Campaign.region.in_(regions_named_by(query)),
            )
        )
    if filters.region:
        conditions.append(Campaign.region == filters.region)
    if filters.category:
        conditions.append(Campaign.category == filters.category)
    total = session.scalar(sa.select(sa.func.count(Campaign.id)).where(*conditions)) or 0
    key = sa.tuple_(Campaign.published_at, Campaign.id)
    newest_first = (Campaign.published_at.desc(), Campaign.id.desc())
    cursor = after if after is not None else before
    if cursor is None:
        rows = _first(session, sa.select(Campaign).where(*conditions), newest_first, per_page)
        return Page(rows[:per_page], total, older_than=_last_id(rows, per_page))
    boundary = session.execute(
        sa.select(Campaign.published_at, Campaign.id).where(
            Campaign.public_id == cursor, *conditions
        )
    ).one_or_none()
    if boundary is None:
        return Page([], total, stale=True)
    mark = sa.tuple_(
        sa.literal(boundary.published_at, Campaign.published_at.type),
        sa.literal(boundary.id, Campaign.id.type),
    )
    if after is not None:
        rows = _first(
            session, sa.select(Campaign).where(*conditions, key < mark), newest_first, per_page
        )
        shown = rows[:per_page]
        return Page(
            shown,
            total,
            newer_than=shown[0].public_id if shown else None,
            older_than=_last_id(rows, per_page),
        )
    oldest_first = (Campaign.published_at.asc(), Campaign.id.asc())
    rows = _first(
        session, sa.select(Campaign).where(*conditions, key > mark), oldest_first, per_page
    )
    if not rows:  # nothing is newer: that is the first page
        return search_campaigns(session, filters, per_page=per_page)
    shown = list(reversed(rows[:per_page]))
    return Page(
        shown,
        total,
        newer_than=shown[0].public_id if len(rows) > per_page else None,
        older_than=shown[-1].public_id if shown else None,
    )


def _first(
    session: Session,
    stmt: sa.Select[Campaign],
    order: tuple[sa.UnaryExpression[Any], ...],
    per_page: int,
) -> list[Campaign]:
    """One more row than a page holds: its presence says there is a further page."""
    return list(session.scalars(stmt.order_by(*order).limit(per_page + 1)))


def _last_id(rows: list[Campaign], per_page: int) -> str | None:
    return rows[per_page - 1].public_id if len(rows) > per_page else None


def campaigns_organised_by(session: Session, user: User) -> list[Campaign]:
    stmt = (
        sa.select(Campaign)
        .join(CampaignOrganiser, CampaignOrganiser.campaign_id == Campaign.id)
        .where(CampaignOrganiser.user_id == user.id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    return list(session.scalars(stmt))


def review_queue(session: Session) -> list[Campaign]:
    """Campaigns waiting for an admin, the longest-waiting first."""
    stmt = (
        sa.select(Campaign)
        .where(Campaign.state == CampaignState.IN_REVIEW.value)
        .order_by(Campaign.submitted_at.asc(), Campaign.id.asc())
    )
    return list(session.scalars(stmt))


def campaigns_for_admin(session: Session, *, state: str = "", limit: int = 200) -> list[Campaign]:
    stmt = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(Campaign.state == state)
    return list(session.scalars(stmt))
