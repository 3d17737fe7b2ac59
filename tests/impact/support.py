"""Builders for impact stories: children registered in the hosted campaign of
``tests.disbursements.support``, reached by approved disbursements, read by its cast."""

from __future__ import annotations

import datetime as dt
from typing import Any

from giving.auditors.services import grant_access
from giving.db import utcnow
from giving.disbursements import services as disbursements
from giving.disbursements.models import Disbursement
from giving.impact import links, services
from giving.impact.crypto import FieldCipher
from giving.impact.fields import ChildValues
from giving.impact.models import BeneficiaryChild
from tests.disbursements.support import Story

# The key the test app uses too (make_app sets GIVING_DATA_KEY to it, see conftest).
TEST_DATA_KEY = "test-data-key-for-children-records-0123456789"


def make_cipher() -> FieldCipher:
    return FieldCipher.from_secrets([TEST_DATA_KEY])


def child_values(**overrides: Any) -> ChildValues:
    values: dict[str, Any] = {
        "code": None,
        "age_band": "6-11",
        "sex": "female",
        "province": "CN-SC",
        "city": "Xichang",
        "needs": ("education", "food"),
        "needs_detail": "Needs a winter coat and exercise books",
        "consent": True,
        "consent_date": dt.date(2026, 3, 1),
        "notes": "Lives with her grandmother",
    }
    values.update(overrides)
    return ChildValues(**values)


def register(story: Story, **overrides: Any) -> BeneficiaryChild:
    return services.register_child(
        story.session,
        actor=story.organiser,
        campaign=story.campaign,
        values=child_values(**overrides),
        cipher=make_cipher(),
    )


def erase(story: Story, child: BeneficiaryChild) -> None:
    """The story's organiser erases ``child``'s record (withholding any photo of them)."""
    services.erase_child(
        story.session,
        actor=story.organiser,
        campaign=story.campaign,
        ref=child.ref,
        evidence_storage=story.storage,
    )


def grant_auditor(story: Story) -> None:
    """Give the story's auditor an active grant for its campaign ("its auditor")."""
    grant_access(
        story.session,
        actor=story.admin,
        auditor=story.auditor,
        campaign=story.campaign,
        expires_at=utcnow() + dt.timedelta(days=30),
    )


def approved(story: Story, amount_minor: int = 10_000, **overrides: object) -> Disbursement:
    disbursement = story.request(amount_minor, **overrides)
    return disbursements.approve_disbursement(
        story.session, actor=story.finance, disbursement=disbursement
    )


def reach(story: Story, disbursement: Disbursement, children: list[BeneficiaryChild]) -> None:
    links.set_disbursement_children(
        story.session,
        actor=story.organiser,
        disbursement=disbursement,
        refs=[child.ref for child in children],
    )
