"""Budgets: planned spending per category, set by the campaign's organisers."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.db import utcnow
from giving.disbursements.access import can_request
from giving.disbursements.models import ActivityKind, BudgetLine, Category
from giving.disbursements.steps import log_step
from giving.errors import PermissionDenied, ValidationError
from giving.money import MAX_AMOUNT_MINOR


def set_budget(
    session: Session, *, actor: User, campaign: Campaign, amounts: Mapping[str, int]
) -> list[BudgetLine]:
    """Set planned spending per category (minor units of the campaign's currency; 0 = none)."""
    if not can_request(actor, campaign):
        raise PermissionDenied(_("Only this campaign's organisers can set its budget."))
    cleaned: dict[str, int] = {}
    for category, amount in amounts.items():
        if category not in set(Category):
            raise ValidationError(_("Choose a category from the list."), field=category)
        if type(amount) is not int or amount < 0:
            raise ValidationError(_("Enter zero or a positive amount."), field=category)
        if amount > MAX_AMOUNT_MINOR:
            raise ValidationError(_("That amount is larger than Giving accepts."), field=category)
        cleaned[category] = amount
    existing = {
        line.category: line
        for line in session.scalars(
            sa.select(BudgetLine).where(BudgetLine.campaign_id == campaign.id)
        )
    }
    now = utcnow()
    for category, amount in cleaned.items():
        line = existing.get(category)
        if line is None:
            line = BudgetLine(
                campaign_id=campaign.id,
                category=category,
                amount_minor=amount,
                currency=campaign.currency,
                updated_by_id=actor.id,
                updated_at=now,
            )
            session.add(line)
            existing[category] = line
        elif line.amount_minor != amount or line.currency != campaign.currency:
            line.amount_minor = amount
            line.currency = campaign.currency
            line.updated_by_id = actor.id
            line.updated_at = now
    log_step(
        session,
        campaign=campaign,
        actor=actor,
        kind=ActivityKind.BUDGET_SET,
        currency=campaign.currency,
        amounts={c: cleaned[c] for c in sorted(cleaned)},
    )
    session.flush()
    return sorted(existing.values(), key=lambda line: line.category)
