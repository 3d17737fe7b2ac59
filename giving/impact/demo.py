"""Demo children for a newcomer's first look at the registry and the suppressed figures.

Called by ``giving demo`` once the demo campaign has approved disbursements. The records are
invented and say so; a small age band makes the public figures show suppression at work.
Running it again adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.disbursements.models import Disbursement, DisbursementState
from giving.impact import links, services
from giving.impact.crypto import FieldCipher
from giving.impact.fields import ChildValues
from giving.impact.models import BeneficiaryChild

# (age band, province, sex, needs) × how many: 23 children, the 3-5 band below the threshold.
_DEMO_GROUPS: tuple[tuple[str, str, str, tuple[str, ...], int], ...] = (
    ("6-11", "CN-YN", "female", ("education", "food"), 7),
    ("6-11", "CN-YN", "male", ("education",), 5),
    ("12-14", "CN-SC", "female", ("education", "health"), 4),
    ("12-14", "CN-SC", "male", ("food",), 4),
    ("3-5", "CN-GZ", "unspecified", ("health",), 3),
)


def seed_demo_children(
    session: Session,
    *,
    campaign: Campaign,
    organiser: User,
    disbursements: Sequence[Disbursement],
    cipher: FieldCipher,
) -> str:
    """Register invented children in ``campaign`` and link them to its approved payments."""
    existing = session.scalar(
        sa.select(sa.func.count(BeneficiaryChild.id)).where(
            BeneficiaryChild.campaign_id == campaign.id
        )
    )
    if existing:
        return f"Demo children: {existing} already registered in “{campaign.title}”."
    rows = [
        ChildValues(
            code=None,
            age_band=age,
            sex=sex,
            province=province,
            city="",
            needs=needs,
            needs_detail="",
            consent=True,
            consent_date=dt.date(2026, 3, 1),
            notes="Invented demo record.",
        )
        for age, province, sex, needs, count in _DEMO_GROUPS
        for _ in range(count)
    ]
    children = services.add_children(
        session, actor=organiser, campaign=campaign, rows=rows, cipher=cipher, source="demo"
    )
    paid = [d for d in disbursements if d.state == DisbursementState.APPROVED]
    for index, disbursement in enumerate(paid):
        # Every payment reaches most children; each child is reached by at least one.
        reached = [c for n, c in enumerate(children) if n % max(len(paid), 1) == index or n < 15]
        links.set_disbursement_children(
            session,
            actor=organiser,
            disbursement=disbursement,
            refs=[child.ref for child in reached],
        )
    return (
        f"Demo children: {len(children)} registered in “{campaign.title}”, "
        f"linked to {len(paid)} approved payments."
    )
