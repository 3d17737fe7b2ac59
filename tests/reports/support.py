"""Builders for report stories: a hosted campaign with paid gifts, a refund, a dispute, a
disbursement with evidence and children reached — all through the real services — and
helpers that read PDFs the way an auditor would (pdftotext, pdffonts, pdfdetach).

Gifts go through giving.payments.bookkeeping, so the ``donations`` rows hold what the
processor reported; refunds and disputes are also stored as raw processor events, which the
report's reconciliation reads.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy.orm import Session

from giving.config import Settings
from giving.disbursements import services as disbursements
from giving.disbursements.models import Disbursement
from giving.impact import links
from giving.ledger.checkpoint import generate_signing_key
from giving.payments import bookkeeping
from giving.payments.gateway import ChargeFacts
from giving.payments.models import Donation, DonationIntent, StripeEvent
from tests.disbursements.support import Story, make_story
from tests.impact.support import register

_numbers = itertools.count(1)
T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@dataclass
class ReportStory:
    """A campaign with every kind of money movement a report must account for."""

    story: Story
    key: Ed25519PrivateKey
    settings: Settings
    donations: list[Donation] = field(default_factory=list)
    disbursement: Disbursement | None = None

    @property
    def session(self) -> Session:
        return self.story.session

    @property
    def campaign(self) -> Any:
        return self.story.campaign


def pay(
    story: Story,
    amount_minor: int,
    fee_minor: int,
    *,
    when: dt.datetime,
    platform_fee_bps: int = 100,
) -> Donation:
    number = next(_numbers)
    intent = DonationIntent(
        public_id=f"di_test_{secrets.token_hex(8)}",
        campaign_id=story.campaign.id,
        amount_minor=amount_minor,
        currency=story.campaign.currency,
        receipt_token_sha256=secrets.token_hex(32),
        donor_commitment=secrets.token_hex(32),
        provider="sandbox",
    )
    story.session.add(intent)
    story.session.flush()
    charge = ChargeFacts(
        charge_id=f"ch_report_{number}_{secrets.token_hex(4)}",
        amount_minor=amount_minor,
        currency=story.campaign.currency,
        fee_minor=fee_minor,
        fee_note=f"fee {fee_minor} {story.campaign.currency} (txn_{number})",
        paid=True,
    )
    recorded = bookkeeping.record_payment(
        story.session,
        intent=intent,
        charge=charge,
        occurred_at=when,
        platform_fee_bps=platform_fee_bps,
    )
    return recorded.donation


def store_event(session: Session, kind: str, obj: dict[str, Any]) -> None:
    event_id = f"evt_report_{secrets.token_hex(8)}"
    payload = {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
    session.add(StripeEvent(event_id=event_id, type=kind, payload=json.dumps(payload)))
    session.flush()


def refund(story: Story, donation: Donation, amount_minor: int, *, when: dt.datetime) -> None:
    refund_id = f"re_report_{secrets.token_hex(6)}"
    bookkeeping.record_refund(
        story.session,
        donation=donation,
        refund_id=refund_id,
        amount_minor=amount_minor,
        currency=donation.currency,
        occurred_at=when,
    )
    store_event(
        story.session,
        "charge.refunded",
        {
            "id": donation.charge_id,
            "object": "charge",
            "amount_refunded": amount_minor,
            "refunds": {
                "object": "list",
                "has_more": False,
                "data": [
                    {
                        "id": refund_id,
                        "object": "refund",
                        "amount": amount_minor,
                        "currency": donation.currency.lower(),
                        "charge": donation.charge_id,
                        "status": "succeeded",
                    }
                ],
            },
        },
    )


def dispute(story: Story, donation: Donation, *, when: dt.datetime) -> None:
    dispute_id = f"dp_report_{secrets.token_hex(6)}"
    bookkeeping.record_dispute(
        story.session,
        donation=donation,
        dispute_id=dispute_id,
        amount_minor=donation.amount_minor,
        currency=donation.currency,
        occurred_at=when,
    )
    store_event(
        story.session,
        "charge.dispute.created",
        {
            "id": dispute_id,
            "object": "dispute",
            "charge": donation.charge_id,
            "amount": donation.amount_minor,
            "currency": donation.currency.lower(),
            "status": "needs_response",
        },
    )


def make_report_story(
    session: Session, instance_path: Path, settings: Settings, *, title: str | None = None
) -> ReportStory:
    """Three gifts (one partly refunded, one disputed), one disbursement reaching children."""
    story = make_story(session, instance_path / "files" / "evidence", raised_minor=0)
    if title is not None:
        story.campaign.title = title
    result = ReportStory(story=story, key=generate_signing_key(), settings=settings)
    result.donations = [
        pay(story, 100_00, 3_20, when=T0),
        pay(story, 250_00, 7_55, when=T0 + dt.timedelta(days=1, hours=2)),
        pay(story, 50_00, 1_75, when=T0 + dt.timedelta(days=3)),
    ]
    refund(story, result.donations[1], 20_00, when=T0 + dt.timedelta(days=4))
    dispute(story, result.donations[2], when=T0 + dt.timedelta(days=5))
    request = story.request(
        120_00,
        payee="凉山新华书店 Liangshan Xinhua Bookshop",
        description="课本和练习本 textbooks and exercise books",
    )
    result.disbursement = disbursements.approve_disbursement(
        session, actor=story.finance, disbursement=request
    )
    children = [register(story) for _ in range(3)]
    links.set_disbursement_children(
        session,
        actor=story.organiser,
        disbursement=result.disbursement,
        refs=[child.ref for child in children],
    )
    session.flush()
    return result


# --------------------------------------------------------------------------- reading PDFs


def run(*command: str | Path) -> str:
    return subprocess.run(
        [str(part) for part in command], check=True, capture_output=True, text=True
    ).stdout


def pdf_text(path: Path) -> str:
    return run("pdftotext", "-layout", "-enc", "UTF-8", path, "-")


def pdf_fonts(path: Path) -> list[dict[str, str]]:
    """pdffonts' table as dicts: name, type, emb, sub, uni."""
    lines = run("pdffonts", path).splitlines()[2:]
    fonts = []
    for line in lines:
        parts = line.split()
        # name type... encoding emb sub uni object ID: read the flags from the right.
        fonts.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return fonts


def detach(path: Path, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    run("pdfdetach", "-saveall", "-o", folder, path)
    return {item.name: item for item in folder.iterdir()}


def figure_after(text: str, label: str) -> int:
    """The amount (in minor units) printed on the line that starts with ``label``."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(label):
            rest = stripped[len(label) :]
            match = re.search(r"(-?)\D*?([\d,]+)\.(\d{2})", rest)
            if match:
                sign = -1 if match.group(1) or "-" in rest.split(match.group(2))[0] else 1
                return sign * int(match.group(2).replace(",", "") + match.group(3))
    raise AssertionError(f"no amount after {label!r} in the report text")


def count_after(text: str, label: str) -> int:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(label):
            match = re.search(r"(\d[\d,]*)\s*%?$", stripped[len(label) :].strip())
            if match:
                return int(match.group(1).replace(",", ""))
    raise AssertionError(f"no count after {label!r} in the report text")


def app_settings(app: Flask) -> Settings:
    settings: Settings = app.extensions["giving.settings"]
    return settings
