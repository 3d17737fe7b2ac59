"""Builders for disbursement stories: a hosted live campaign, gifts in the ledger, evidence.

Gifts are appended to the ledger the way giving/payments records them (a donation and its
fees with references ``<charge>:donation`` and ``<charge>:processor_fee``), so the FIFO
allocation sees what it will see in production.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy.orm import Session

from giving.accounts.models import Role, User
from giving.auditors.services import grant_access
from giving.campaigns import hosting
from giving.campaigns import services as campaigns
from giving.campaigns.models import Campaign, CampaignOrganiser, CampaignState, OrganiserRole
from giving.db import utcnow
from giving.disbursements import services
from giving.disbursements.models import Disbursement
from giving.hosts import services as hosts
from giving.hosts.models import HostOrganisation, HostRole
from giving.ledger import rules
from giving.ledger.canonical import Posting
from giving.ledger.services import append_entry
from giving.money import Money
from giving.storage import LocalStorage
from tests.campaigns.factories import (
    make_admin,
    make_campaign,
    make_host,
    make_organiser,
    make_user,
)

_charges = itertools.count(1)


def pdf_bytes(note: str = "receipt", *, catalog_extra: bytes = b"") -> bytes:
    """A small, well-formed one-page PDF; ``note`` makes its digest distinct."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n% " + note.encode() + b"\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def image_bytes(image_format: str = "JPEG", colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, image_format)
    return buffer.getvalue()


def upload(data: bytes | None = None, name: str = "receipt.pdf") -> services.EvidenceUpload:
    return services.EvidenceUpload(data if data is not None else pdf_bytes(name), name)


def give(session: Session, campaign: Campaign, amount_minor: int, *, fee_minor: int = 0) -> int:
    """Record a paid gift (and its processor fee) in the ledger; returns the donation's seq."""
    charge = f"ch_test_{next(_charges)}"
    fund = rules.fund_account(campaign.public_id)
    entry = append_entry(
        session,
        campaign=campaign.public_id,
        kind=rules.DONATION,
        postings=[
            Posting("processor:sandbox", amount_minor, campaign.currency),
            Posting(fund, -amount_minor, campaign.currency),
        ],
        occurred_at=utcnow(),
        ref=f"{charge}:donation",
    )
    if fee_minor:
        append_entry(
            session,
            campaign=campaign.public_id,
            kind=rules.PROCESSOR_FEE,
            postings=[
                Posting(fund, fee_minor, campaign.currency),
                Posting("processor:sandbox", -fee_minor, campaign.currency),
            ],
            occurred_at=utcnow(),
            ref=f"{charge}:processor_fee",
        )
    return entry.seq


def refund(session: Session, campaign: Campaign, donation_seq: int, amount_minor: int) -> int:
    fund = rules.fund_account(campaign.public_id)
    entry = append_entry(
        session,
        campaign=campaign.public_id,
        kind=rules.REFUND,
        postings=[
            Posting(fund, amount_minor, campaign.currency),
            Posting("processor:sandbox", -amount_minor, campaign.currency),
        ],
        occurred_at=utcnow(),
        reverses=donation_seq,
    )
    return entry.seq


@dataclass
class Story:
    """A live campaign hosted by a charity, and everyone who may touch its books."""

    session: Session
    campaign: Campaign
    host: HostOrganisation
    organiser: User
    co_organiser: User
    finance: User
    host_member: User
    auditor: User
    admin: User
    donor: User
    other_organiser: User
    other_campaign: Campaign
    storage: LocalStorage

    def request(self, amount_minor: int = 30_000, **overrides: object) -> Disbursement:
        values: dict[str, object] = {
            "actor": self.organiser,
            "campaign": self.campaign,
            "payee": "Liangshan Xinhua Bookshop",
            "amount": Money(amount_minor, self.campaign.currency),
            "category": "education",
            "spent_on": utcnow().date(),
            "description": "Textbooks for the autumn term",
            "groups_reached": "Grade 3 class",
            "people_reached": 32,
            "evidence": [upload(pdf_bytes(f"invoice {amount_minor} {next(_charges)}"))],
            "storage": self.storage,
        }
        values.update(overrides)
        return services.request_disbursement(self.session, **values)  # type: ignore[arg-type]


def make_story(
    session: Session,
    storage_root: Path,
    *,
    raised_minor: int = 100_000,
    grant_auditor: bool = False,
) -> Story:
    admin = make_admin(session, name="Admin Zhao")
    organiser = make_organiser(session, name="Organiser Li")
    co_organiser = make_organiser(session, name="Co-organiser Wang")
    finance = make_user(session, name="Finance Chen")
    host_member = make_user(session, name="Member Liu")
    auditor = make_user(session, roles=(Role.AUDITOR,), name="Auditor Sun")
    donor = make_user(session, name="Donor Zhou")
    other_organiser = make_organiser(session, name="Other Organiser")
    host = make_host(session, admin)
    hosts.add_member(session, actor=admin, host=host, email=finance.email, role=HostRole.FINANCE)
    hosts.add_member(session, actor=admin, host=host, email=host_member.email, role="member")
    campaign = make_campaign(session, owner=organiser, state=CampaignState.DRAFT)
    campaign.organisers.append(
        CampaignOrganiser(user_id=co_organiser.id, role=OrganiserRole.CO_ORGANISER.value)
    )
    hosting.assign_host(session, actor=organiser, campaign=campaign, host=host)
    campaigns.submit_for_review(session, actor=organiser, campaign=campaign)
    campaigns.approve(session, actor=admin, campaign=campaign)
    other_campaign = make_campaign(
        session, owner=other_organiser, state=CampaignState.LIVE, admin=admin
    )
    if grant_auditor:
        # "Its auditor": the role alone opens nothing; an admin's time-limited grant does.
        grant_access(
            session,
            actor=admin,
            auditor=auditor,
            campaign=campaign,
            expires_at=utcnow() + dt.timedelta(days=30),
        )
    if raised_minor:
        give(session, campaign, raised_minor)
    session.flush()
    return Story(
        session=session,
        campaign=campaign,
        host=host,
        organiser=organiser,
        co_organiser=co_organiser,
        finance=finance,
        host_member=host_member,
        auditor=auditor,
        admin=admin,
        donor=donor,
        other_organiser=other_organiser,
        other_campaign=other_campaign,
        storage=LocalStorage(storage_root),
    )
