"""Demo data for a newcomer's first look: one account per role and bilingual campaigns.

Every record goes through the same services a person's clicks would call, so the demo
exercises the real rules (review by an independent admin, content checks, audit rows). It is
idempotent: running it again finds what exists and adds only what is missing.
"""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa
from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from giving.accounts import services as accounts
from giving.accounts.models import Role, User
from giving.campaigns import services as campaigns
from giving.campaigns.models import Campaign, CampaignState
from giving.config import Settings, load_settings
from giving.db import transaction
from giving.demo_content import DEMO_ACCOUNTS, DEMO_CAMPAIGNS, DemoAccount, DemoCampaign
from giving.money import parse_major_amount
from giving.storage import storage_from_settings

_ROLE_FOR = {
    "admin": {Role.ADMIN},
    "organiser": {Role.ORGANISER},
    "auditor": {Role.AUDITOR},
    "donor": set(),
}


def seed_demo(session: Session, settings: Settings | None = None) -> str:
    """Create what is missing of the demo, commit it, and say what the demo now holds."""
    settings = settings or load_settings()
    with transaction(session):
        users = {account.role: _ensure_account(session, account) for account in DEMO_ACCOUNTS}
    created = 0
    for spec in DEMO_CAMPAIGNS:
        with transaction(session):
            if _ensure_campaign(session, spec, users, settings):
                created += 1
    extra = _seed_money(session, settings)
    live = session.scalar(
        sa.select(sa.func.count())
        .select_from(Campaign)
        .where(Campaign.state == CampaignState.LIVE.value)
    )
    lines = [f"Demo data ready: {live} live campaigns ({created} new)."]
    lines += extra
    lines.append("Demo accounts (email / password):")
    lines += [f"  {a.role:<10} {a.email} / {a.password}" for a in DEMO_ACCOUNTS]
    return "\n".join(lines)


def _ensure_account(session: Session, account: DemoAccount) -> User:
    user = accounts.find_user_by_email(session, account.email)
    if user is None:
        user = accounts.register_user(
            session,
            email=account.email,
            password=account.password,
            display_name=account.display_name,
            roles=_ROLE_FOR[account.role],
        )
    return user


def _ensure_campaign(
    session: Session, spec: DemoCampaign, users: dict[str, User], settings: Settings
) -> bool:
    organiser = users["organiser"]
    existing = session.scalar(sa.select(Campaign).where(Campaign.title == spec.title))
    if existing is not None:
        return False
    campaign = campaigns.create_campaign(
        session,
        actor=organiser,
        title=spec.title,
        summary=spec.summary,
        story=spec.story,
        language=spec.language,
        goal=parse_major_amount(spec.goal_major, spec.currency),
        ends_on=dt.date.today() + dt.timedelta(days=spec.end_in_days),
        region=spec.region,
        category=spec.category,
        cover=campaigns.CoverUpload(
            data=demo_cover(spec.colour), storage=storage_from_settings(settings)
        ),
    )
    if spec.state == "draft":
        return True
    campaigns.submit_for_review(session, actor=organiser, campaign=campaign)
    if spec.state == "in_review":
        return True
    campaigns.approve(session, actor=users["admin"], campaign=campaign)
    if spec.featured:
        campaigns.set_featured(session, actor=users["admin"], campaign=campaign, featured=True)
    return True


def _seed_money(session: Session, settings: Settings) -> list[str]:
    """Donations, disbursements and children arrive with their own features; see below."""
    return []


def demo_cover(colour: tuple[int, int, int]) -> bytes:
    """A simple illustrated cover (hills and a sun): the demo never shows a photo of a child."""
    width, height = 960, 540
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, c + 70) for c in colour)
    dark = tuple(max(0, c - 50) for c in colour)
    draw.ellipse((width - 260, 60, width - 120, 200), fill=(250, 236, 180))
    draw.polygon(
        [(0, height), (0, 330), (300, 200), (620, 360), (width, 250), (width, height)], fill=light
    )
    draw.polygon([(0, height), (0, 430), (420, 320), (width, 440), (width, height)], fill=dark)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
