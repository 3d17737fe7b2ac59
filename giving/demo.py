"""Demo data for a newcomer's first look: one account per role, each with something to see
(tests/test_demo.py follows every README account's pages), and bilingual campaigns.

Every record goes through the same services a person's clicks would call, so the demo
exercises the real rules (a host chosen before review, review by an independent admin,
content checks, audit rows). It is idempotent: running it again finds what exists and adds
only what is missing.
"""

from __future__ import annotations

import datetime as dt
import io
import time

import sqlalchemy as sa
from flask import current_app, has_app_context
from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from giving.accounts import services as accounts
from giving.accounts.models import Role, User
from giving.auditors import services as auditor_grants
from giving.campaigns import services as campaigns
from giving.campaigns.hosting import assign_host
from giving.campaigns.models import Campaign, CampaignState
from giving.config import Settings, load_settings
from giving.db import transaction, utcnow
from giving.demo_content import (
    DEMO_ACCOUNTS,
    DEMO_CAMPAIGNS,
    DEMO_HOST,
    DemoAccount,
    DemoCampaign,
)
from giving.disbursements.budget import set_budget
from giving.disbursements.decisions import approve_disbursement, available_balance
from giving.disbursements.models import Disbursement, DisbursementState, EvidenceFile
from giving.disbursements.services import EvidenceUpload, publish_redacted, request_disbursement
from giving.disbursements.uploads import evidence_storage_in
from giving.hosts.models import HostOrganisation, HostRole
from giving.hosts.services import add_member, register_host
from giving.impact.demo import seed_demo_children
from giving.impact.keyring import field_cipher
from giving.ledger.keys import ledger_origin, load_signing_key
from giving.ledger.services import latest_checkpoint, make_checkpoint
from giving.ledger.tree import log_size
from giving.money import Money, parse_major_amount
from giving.reports import jobs
from giving.reports import services as reports
from giving.storage import FileStore, move_between_directories, storage_from_settings

_ROLE_FOR = {
    "admin": {Role.ADMIN},
    "organiser": {Role.ORGANISER},
    "auditor": {Role.AUDITOR},
    "donor": set(),
    "host finance": set(),
}

FOOD_PAYEE = "县城粮油店 (demo supplier)"
BUS_PAYEE = "县城客运公司 (demo bus hire)"
AUDIT_DAYS = 90


def seed_demo(session: Session, settings: Settings | None = None) -> str:
    """Create what is missing of the demo, commit it, and say what the demo now holds."""
    settings = settings or load_settings()
    with transaction(session):
        users = {account.role: _ensure_account(session, account) for account in DEMO_ACCOUNTS}
    with transaction(session):
        host = _ensure_host(session, users)
    created = 0
    for spec in DEMO_CAMPAIGNS:
        with transaction(session):
            if _ensure_campaign(session, spec, users, host, settings):
                created += 1
    extra = _seed_money(session, settings, users)
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
    session: Session,
    spec: DemoCampaign,
    users: dict[str, User],
    host: HostOrganisation,
    settings: Settings,
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
        # Left without a host, so the demo shows an organiser the step before submitting.
        return True
    # As on the pages: the organiser chooses the host while drafting, then submits.
    assign_host(session, actor=organiser, campaign=campaign, host=host)
    campaigns.submit_for_review(session, actor=organiser, campaign=campaign)
    if spec.state == "in_review":
        return True
    campaigns.approve(session, actor=users["admin"], campaign=campaign)
    if spec.featured:
        campaigns.set_featured(session, actor=users["admin"], campaign=campaign, featured=True)
    return True


def _seed_money(session: Session, settings: Settings, users: dict[str, User]) -> list[str]:
    """Sandbox donations, an evidenced disbursement and its (invented) children, a request
    waiting for the finance member, the auditor's grant and a published report.

    Donations travel the sandbox provider's real path (signed events through the webhook
    handler), so the demo's ledger is what a real checkout would have written.
    """
    from giving.payments.demo import seed_demo_donations

    lines = []
    given = seed_demo_donations(session, settings=settings)
    lines.append(f"Demo donations: {given} new sandbox gifts.")
    lunch = session.scalar(sa.select(Campaign).where(Campaign.title == DEMO_CAMPAIGNS[0].title))
    if lunch is None or lunch.state != CampaignState.LIVE.value:
        return lines
    with transaction(session):
        approved = _ensure_disbursements(session, settings, users, lunch)
    with transaction(session):
        lines.append(
            seed_demo_children(
                session,
                campaign=lunch,
                organiser=users["organiser"],
                disbursements=approved,
                cipher=field_cipher(),
            )
        )
    with transaction(session):
        checkpoint = latest_checkpoint(session)
        if checkpoint is None or checkpoint.tree_size != log_size(session):
            checkpoint = make_checkpoint(
                session, load_signing_key(settings), origin=ledger_origin(settings)
            )
    lines.append(f"Ledger checkpoint: {checkpoint.tree_size} entries signed.")
    with transaction(session):
        lines.append(_ensure_auditor_grant(session, users, lunch))
    lines.append(_ensure_report(session, settings, users, lunch))
    return lines


def _ensure_host(session: Session, users: dict[str, User]) -> HostOrganisation:
    host = session.scalar(
        sa.select(HostOrganisation).where(HostOrganisation.name == DEMO_HOST["name"])
    )
    if host is None:
        host = register_host(session, actor=users["admin"], **DEMO_HOST)
        add_member(
            session,
            actor=users["admin"],
            host=host,
            email=users["host finance"].email,
            role=HostRole.FINANCE,
        )
    return host


def _ensure_disbursements(
    session: Session, settings: Settings, users: dict[str, User], campaign: Campaign
) -> list[Disbursement]:
    """An approved food purchase whose invoice has a published redacted copy, and a bus hire
    request left for the host's finance member to decide; returns the approved ones.

    Evidence goes where the pages put it (``evidence_storage_in``), so every download route
    finds it. Each part is looked up first, so a demo seeded earlier gains what it lacks.
    """
    base = storage_from_settings(settings)
    store = evidence_storage_in(base)
    food = _by_payee(session, campaign, FOOD_PAYEE)
    if food is None:
        set_budget(
            session,
            actor=users["organiser"],
            campaign=campaign,
            amounts={"food": 4_800_000, "transport": 300_000, "other": 300_000},
        )
        available = available_balance(session, campaign).amount_minor
        amount = (available * 6 // 10) // 100 * 100
        if amount <= 0:
            return []
        food = request_disbursement(
            session,
            actor=users["organiser"],
            campaign=campaign,
            payee=FOOD_PAYEE,
            amount=Money(amount, campaign.currency),
            category="food",
            spent_on=dt.date.today(),
            description="第一批午餐食材：大米、食用油、蔬菜和鸡蛋。",
            groups_reached="全校一至六年级学生",
            people_reached=120,
            evidence=[EvidenceUpload(data=demo_receipt(amount), filename="invoice.png")],
            storage=store,
        )
        approve_disbursement(session, actor=users["host finance"], disbursement=food)
    for evidence in food.evidence:
        _move_misplaced(base, store, evidence)
        if evidence.redacted_key is None and not evidence.shows_children:
            publish_redacted(
                session,
                actor=users["organiser"],
                evidence=evidence,
                upload=EvidenceUpload(
                    data=demo_receipt(food.amount_minor, redacted=True),
                    filename="invoice-redacted.png",
                ),
                caption="供应商银行账号已遮盖。",
                storage=store,
            )
    if _by_payee(session, campaign, BUS_PAYEE) is None:
        amount = min(available_balance(session, campaign).amount_minor // 4, 60_000) // 100 * 100
        if amount > 0:
            request_disbursement(
                session,
                actor=users["organiser"],
                campaign=campaign,
                payee=BUS_PAYEE,
                amount=Money(amount, campaign.currency),
                category="transport",
                spent_on=dt.date.today(),
                description="运送第二批午餐食材上山的包车费用。",
                evidence=[
                    EvidenceUpload(
                        data=demo_receipt(amount, title="DEMO QUOTE"), filename="quote.png"
                    )
                ],
                storage=store,
            )
    return [
        d
        for d in session.scalars(
            sa.select(Disbursement).where(Disbursement.campaign_id == campaign.id)
        )
        if d.state == DisbursementState.APPROVED.value
    ]


def _by_payee(session: Session, campaign: Campaign, payee: str) -> Disbursement | None:
    return session.scalar(
        sa.select(Disbursement)
        .where(Disbursement.campaign_id == campaign.id, Disbursement.payee == payee)
        .order_by(Disbursement.id)
        .limit(1)
    )


def _move_misplaced(base: FileStore, store: FileStore, evidence: EvidenceFile) -> None:
    """Demos seeded before evidence went to its own folder left the files in the storage
    root, where no download route looks; move them (same key) to where the rows expect.
    Only local directories ever held such demos."""
    for key in (evidence.storage_key, evidence.redacted_key):
        if key is not None:
            move_between_directories(base, store, key)


def _ensure_auditor_grant(session: Session, users: dict[str, User], campaign: Campaign) -> str:
    """The demo auditor reads the school-lunch campaign for a while, granted by the admin."""
    auditor = users["auditor"]
    grant = next(
        (g for g in auditor_grants.active_grants(session, auditor) if g.campaign_id == campaign.id),
        None,
    )
    if grant is None:
        grant = auditor_grants.grant_access(
            session,
            actor=users["admin"],
            auditor=auditor,
            campaign=campaign,
            expires_at=utcnow() + dt.timedelta(days=AUDIT_DAYS),
            note="Demo: reads the school-lunch campaign's books and reports.",
        )
    until = grant.expires_at.date().isoformat()
    return f"Auditor access: {auditor.email} reads “{campaign.title}” until {until}."


def _ensure_report(
    session: Session, settings: Settings, users: dict[str, User], campaign: Campaign
) -> str:
    """Publish one accountability report version (in the campaign's language) through the
    reports service and render it here, as the inline job runner would."""
    if reports.published_versions(session, campaign):
        return f"Accountability report: already published for “{campaign.title}”."
    if not has_app_context():
        return "Accountability report: not rendered (no app context)."
    with transaction(session):
        queued = reports.jobs_in_progress(session, campaign) or reports.request_publication(
            session,
            actor=users["organiser"],
            campaign=campaign,
            languages=[campaign.language],
            settings=settings,
            key=load_signing_key(settings),
        )
        job_ids = [job.id for job in queued]
    started = time.monotonic()
    rendered = [jobs.process(current_app, job_id) for job_id in job_ids]
    seconds = time.monotonic() - started
    if not all(rendered):
        return "Accountability report: rendering failed; see the transparency page."
    return (
        f"Accountability report: version published for “{campaign.title}” "
        f"(rendered in {seconds:.1f} s)."
    )


def demo_receipt(
    amount_minor: int, *, title: str = "DEMO INVOICE", redacted: bool = False
) -> bytes:
    """A plain image standing in for a supplier's invoice (evidence files are real files);
    the redacted copy blacks out the supplier's (invented) bank account."""
    image = Image.new("RGB", (800, 1000), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 760, 960), outline=(60, 60, 60), width=4)
    draw.text((80, 80), f"{title} - not a real document", fill=(0, 0, 0))
    draw.text(
        (80, 140), f"Total: CNY {amount_minor // 100}.{amount_minor % 100:02d}", fill=(0, 0, 0)
    )
    draw.text((80, 200), "Supplier bank account: 0000 0000 0000 0000 (demo)", fill=(0, 0, 0))
    if redacted:
        draw.rectangle((70, 190, 560, 220), fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


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
