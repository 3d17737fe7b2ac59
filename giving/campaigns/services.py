"""Campaign rules: creating and editing, the review and freeze state machine, updates.

States move draft → in_review → live → closed; an admin may freeze a live or closed campaign
(with a reason) and unfreeze it back to where it was. Each transition is one function that
checks the actor and the current state, changes the campaign and writes the audit log in the
caller's transaction. Rules worth knowing:

* Only users with the organiser role create campaigns; the campaign's organisers (owner and
  co-organisers) edit it, submit it, post updates and close it. Admins review, freeze and
  feature it, but do not edit its content, and never review a campaign they organise.
* A campaign goes live only with a host organisation (a registered charity that holds the
  money): organisers choose it while drafting, so submitting and approving both refuse a
  campaign without one.
* Editing a campaign that is in review takes it back to draft: reviewers approve what they
  saw, so changed text must be submitted again.
* The goal and currency are fixed once a campaign is live, because donations (and the ledger)
  refer to them; so is the slug, because links to the page are being shared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from giving.accounts.models import Role, User
from giving.audit.services import record_action
from giving.campaigns.models import (
    Campaign,
    CampaignOrganiser,
    CampaignState,
    CampaignUpdate,
    OrganiserRole,
)
from giving.campaigns.uploads import clean_cover_image
from giving.campaigns.validation import (
    REASON_MAX,
    STORY_MAX,
    TITLE_MAX,
    check_ends_on,
    clean_content,
    clean_text,
    new_public_id,
    today,
    unique_slug,
)
from giving.db import utcnow
from giving.errors import Conflict, PermissionDenied
from giving.hosts.services import host_of
from giving.money import Money
from giving.scanner import check_public_text, check_text
from giving.storage import FileStore, delete_after_commit, save_for_transaction

DEFAULT_COVER_MAX_BYTES = 5 * 1024 * 1024
_EDITABLE_STATES = (CampaignState.DRAFT, CampaignState.IN_REVIEW, CampaignState.LIVE)


@dataclass(frozen=True, slots=True)
class CoverUpload:
    """An uploaded cover image and where to put it once it has been checked."""

    data: bytes
    storage: FileStore
    max_bytes: int = DEFAULT_COVER_MAX_BYTES


# --- who may do what ---------------------------------------------------------------------


def can_create_campaigns(actor: User | None) -> bool:
    return actor is not None and actor.has_role(Role.ORGANISER)


def ensure_can_create_campaigns(actor: User) -> None:
    if not can_create_campaigns(actor):
        raise PermissionDenied(
            _(
                "Only organisers can start campaigns. Tick “I want to start campaigns as an "
                "organiser” when you register, ask an admin to give your account the "
                "organiser role, or accept an invitation to co-organise a campaign."
            )
        )


def _require_campaign_organiser(actor: User, campaign: Campaign) -> None:
    if not campaign.is_organiser(actor):
        raise PermissionDenied(_("Only this campaign's organisers can do that."))


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied(_("Only an admin can do that."))


def _require_state(campaign: Campaign, *allowed: CampaignState, message: object) -> None:
    """Raise Conflict(message) unless the campaign is in one of ``allowed``.

    ``message`` is a lazy string, translated only when raised, so the happy path also runs
    outside a request (CLI commands, jobs, demo data).
    """
    if campaign.state not in allowed:
        raise Conflict(str(message))


def _audit(
    session: Session, actor: User | None, action: str, campaign: Campaign, **detail: object
) -> None:
    record_action(
        session,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type="campaign",
        subject_id=campaign.public_id,
        **detail,
    )


def _refuse_identifying_text(
    session: Session, campaign: Campaign | None, title: str, summary: str, story: str
) -> None:
    """Campaign text is public: refuse ID-card and phone numbers and children's codes."""
    for field, text in (("title", title), ("summary", summary), ("story", story)):
        if campaign is None:
            check_text(text, child_codes=(), field=field)
        else:
            check_public_text(session, campaign, text, field=field)


def _store_cover(session: Session, cover: CoverUpload | None) -> str | None:
    """Store a checked cover image; it is removed again if the transaction does not commit."""
    if cover is None or not cover.data:
        return None
    clean = clean_cover_image(cover.data, max_bytes=cover.max_bytes, field="cover")
    return save_for_transaction(session, cover.storage, clean.data, suffix=clean.suffix)


# --- creating and editing ----------------------------------------------------------------


def create_campaign(
    session: Session,
    *,
    actor: User,
    title: str,
    summary: str,
    story: str,
    language: str,
    goal: Money,
    ends_on: dt.date | None,
    region: str,
    category: str,
    cover: CoverUpload | None = None,
) -> Campaign:
    """Start a draft campaign owned by ``actor``."""
    ensure_can_create_campaigns(actor)
    content = clean_content(
        title=title,
        summary=summary,
        story=story,
        language=language,
        goal=goal,
        ends_on=ends_on,
        region=region,
        category=category,
    )
    check_ends_on(ends_on)
    _refuse_identifying_text(session, None, content.title, content.summary, content.story)
    cover_key = _store_cover(session, cover)

    public_id = new_public_id()
    campaign = Campaign(
        public_id=public_id,
        slug=unique_slug(session, content.title, public_id, exclude_id=None),
        title=content.title,
        summary=content.summary,
        story=content.story,
        language=content.language,
        goal_minor=goal.amount_minor,
        currency=goal.currency,
        ends_on=ends_on,
        region=region,
        category=category,
        state=CampaignState.DRAFT.value,
        featured=False,
        cover_image_key=cover_key,
        created_by_id=actor.id,
    )
    campaign.organisers = [CampaignOrganiser(user_id=actor.id, role=OrganiserRole.OWNER.value)]
    session.add(campaign)
    session.flush()
    _audit(session, actor, "campaign.created", campaign, title=campaign.title, slug=campaign.slug)
    return campaign


def update_campaign(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    title: str,
    summary: str,
    story: str,
    language: str,
    goal: Money,
    ends_on: dt.date | None,
    region: str,
    category: str,
    cover: CoverUpload | None = None,
) -> Campaign:
    """Change a campaign's content; see the module docstring for what is locked when."""
    _require_campaign_organiser(actor, campaign)
    _require_state(
        campaign,
        *_EDITABLE_STATES,
        message=_l("A closed or frozen campaign can no longer be edited."),
    )
    content = clean_content(
        title=title,
        summary=summary,
        story=story,
        language=language,
        goal=goal,
        ends_on=ends_on,
        region=region,
        category=category,
    )
    if goal != campaign.goal and campaign.state == CampaignState.LIVE:
        raise Conflict(
            _(
                "The goal and currency cannot change once a campaign is live, because "
                "donations refer to them."
            ),
            field="goal",
        )
    # An end date that has passed may stay (a live campaign keeps its history); a new one
    # must be in the future.
    if ends_on != campaign.ends_on:
        check_ends_on(ends_on)
    _refuse_identifying_text(session, campaign, content.title, content.summary, content.story)
    cover_key = _store_cover(session, cover)

    new_values: dict[str, object] = {
        "title": content.title,
        "summary": content.summary,
        "story": content.story,
        "language": language,
        "goal_minor": goal.amount_minor,
        "currency": goal.currency,
        "ends_on": ends_on,
        "region": region,
        "category": category,
    }
    if cover_key is not None:
        new_values["cover_image_key"] = cover_key
        if cover is not None and campaign.cover_image_key:
            # The replaced cover is public and named by no other row; it goes once this commits.
            delete_after_commit(session, cover.storage, campaign.cover_image_key)
    changed = sorted(name for name, value in new_values.items() if getattr(campaign, name) != value)
    if not changed:
        return campaign
    for name in changed:
        setattr(campaign, name, new_values[name])
    if "title" in changed and campaign.state != CampaignState.LIVE:
        campaign.slug = unique_slug(
            session, content.title, campaign.public_id, exclude_id=campaign.id
        )
    _audit(session, actor, "campaign.updated", campaign, fields=changed)
    if campaign.state == CampaignState.IN_REVIEW:
        campaign.state = CampaignState.DRAFT.value
        campaign.submitted_at = None
        _audit(session, actor, "campaign.returned_to_draft", campaign)
    session.flush()
    return campaign


# --- the state machine -------------------------------------------------------------------


def submit_for_review(session: Session, *, actor: User, campaign: Campaign) -> Campaign:
    _require_campaign_organiser(actor, campaign)
    _require_state(
        campaign,
        CampaignState.DRAFT,
        message=_l("Only a draft can be submitted for review."),
    )
    if campaign.ends_on is not None and campaign.ends_on <= today():
        raise Conflict(
            _("The end date has passed; choose a later one before submitting."), field="ends_on"
        )
    if host_of(session, campaign) is None:
        raise Conflict(
            _(
                "Choose the host organisation first: a campaign needs a registered charity "
                "to hold its money before it can be submitted for review."
            ),
            field="host",
        )
    campaign.state = CampaignState.IN_REVIEW.value
    campaign.submitted_at = utcnow()
    _audit(session, actor, "campaign.submitted", campaign)
    session.flush()
    return campaign


def _require_independent_reviewer(actor: User, campaign: Campaign) -> None:
    _require_admin(actor)
    if campaign.is_organiser(actor):
        raise PermissionDenied(_("You organise this campaign, so another admin has to review it."))


def approve(session: Session, *, actor: User, campaign: Campaign) -> Campaign:
    """Publish a campaign that is in review; its slug is fixed from now on."""
    _require_independent_reviewer(actor, campaign)
    _require_state(
        campaign,
        CampaignState.IN_REVIEW,
        message=_l("Only a campaign that is in review can be approved."),
    )
    # Organisers cannot submit without a host, but a campaign may have been submitted
    # before that rule, or lost its hosting row since: nothing goes live unhosted.
    if host_of(session, campaign) is None:
        raise Conflict(
            _(
                "This campaign has no host organisation, so it cannot go live. Send it back "
                "to its organisers so they choose one."
            ),
            field="host",
        )
    campaign.state = CampaignState.LIVE.value
    campaign.published_at = utcnow()
    campaign.review_note = None
    _audit(session, actor, "campaign.approved", campaign)
    session.flush()
    return campaign


def _clean_reason(reason: str, message: object) -> str:
    return clean_text(reason, field="reason", maximum=REASON_MAX, required_message=message)


def reject(session: Session, *, actor: User, campaign: Campaign, reason: str) -> Campaign:
    """Send a campaign back to draft with a note its organisers see."""
    _require_independent_reviewer(actor, campaign)
    reason = _clean_reason(reason, _l("Say what the organisers should change."))
    _require_state(
        campaign,
        CampaignState.IN_REVIEW,
        message=_l("Only a campaign that is in review can be rejected."),
    )
    campaign.state = CampaignState.DRAFT.value
    campaign.review_note = reason
    campaign.submitted_at = None
    _audit(session, actor, "campaign.rejected", campaign, reason=reason)
    session.flush()
    return campaign


def close(session: Session, *, actor: User, campaign: Campaign) -> Campaign:
    if not (campaign.is_organiser(actor) or actor.is_admin):
        raise PermissionDenied(_("Only this campaign's organisers or an admin can close it."))
    _require_state(campaign, CampaignState.LIVE, message=_l("Only a live campaign can be closed."))
    campaign.state = CampaignState.CLOSED.value
    campaign.closed_at = utcnow()
    campaign.featured = False
    _audit(session, actor, "campaign.closed", campaign)
    session.flush()
    return campaign


def close_ended(session: Session, *, now: dt.datetime) -> list[Campaign]:
    """Close every live campaign whose end date is over (``giving campaigns close-ended``,
    run periodically). Giving already stopped at the end; this makes the state say so, as
    an organiser's close would, recorded with no actor and the end date as the reason."""
    live = session.scalars(
        sa.select(Campaign)
        .where(Campaign.state == CampaignState.LIVE.value, Campaign.ends_on.is_not(None))
        .order_by(Campaign.id)
    )
    closed = []
    for campaign in live:
        if not campaign.has_ended(now):
            continue
        campaign.state = CampaignState.CLOSED.value
        campaign.closed_at = now
        campaign.featured = False
        assert campaign.ends_on is not None
        _audit(
            session,
            None,
            "campaign.closed",
            campaign,
            reason="end date passed",
            ends_on=campaign.ends_on.isoformat(),
        )
        closed.append(campaign)
    session.flush()
    return closed


def freeze(session: Session, *, actor: User, campaign: Campaign, reason: str) -> Campaign:
    """Stop a campaign under investigation; the reason is shown on its page."""
    _require_admin(actor)
    reason = _clean_reason(reason, _l("Say why the campaign is frozen; it is shown publicly."))
    check_public_text(session, campaign, reason, field="reason")
    _require_state(
        campaign,
        CampaignState.LIVE,
        CampaignState.CLOSED,
        message=_l("Only a live or closed campaign can be frozen."),
    )
    campaign.state_before_freeze = campaign.state
    campaign.state = CampaignState.FROZEN.value
    campaign.frozen_reason = reason
    campaign.featured = False
    _audit(session, actor, "campaign.frozen", campaign, reason=reason)
    session.flush()
    return campaign


def unfreeze(session: Session, *, actor: User, campaign: Campaign) -> Campaign:
    _require_admin(actor)
    _require_state(campaign, CampaignState.FROZEN, message=_l("This campaign is not frozen."))
    previous = CampaignState(campaign.state_before_freeze or CampaignState.LIVE)
    campaign.state = previous.value
    campaign.state_before_freeze = None
    campaign.frozen_reason = None
    _audit(session, actor, "campaign.unfrozen", campaign, restored=previous.value)
    session.flush()
    return campaign


def set_featured(session: Session, *, actor: User, campaign: Campaign, featured: bool) -> Campaign:
    _require_admin(actor)
    if featured:
        _require_state(
            campaign, CampaignState.LIVE, message=_l("Only a live campaign can be featured.")
        )
    if campaign.featured != featured:
        campaign.featured = featured
        _audit(
            session,
            actor,
            "campaign.featured" if featured else "campaign.unfeatured",
            campaign,
        )
        session.flush()
    return campaign


# --- updates -----------------------------------------------------------------------------


def post_update(
    session: Session, *, actor: User, campaign: Campaign, title: str, body: str
) -> CampaignUpdate:
    """Publish news on a live or closed campaign; it appears on the page and in the feed."""
    _require_campaign_organiser(actor, campaign)
    _require_state(
        campaign,
        CampaignState.LIVE,
        CampaignState.CLOSED,
        message=_l("Updates can be posted once the campaign is live."),
    )
    title = clean_text(
        title, field="title", maximum=TITLE_MAX, required_message=_l("Give the update a title.")
    )
    body = clean_text(
        body, field="body", maximum=STORY_MAX, required_message=_l("Write what happened.")
    )
    check_public_text(session, campaign, title, field="title")
    check_public_text(session, campaign, body, field="body")
    update = CampaignUpdate(campaign_id=campaign.id, author_id=actor.id, title=title, body=body)
    session.add(update)
    session.flush()
    # The campaign's loaded list of updates no longer matches; reload it when next read.
    session.expire(campaign, ["updates"])
    _audit(session, actor, "campaign.update_posted", campaign, update_id=update.id)
    return update
