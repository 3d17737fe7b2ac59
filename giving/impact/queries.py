"""The read side of impact that needs no actor: codes for the scanner, counts for pages.

Nothing here returns a child's record or anything decrypted; reads of records go through
``giving.impact.services`` so that they are checked and logged.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.impact.models import BeneficiaryChild, ChildAccessLog, DisbursementBeneficiary


def registered_codes(session: Session, campaign_id: int) -> list[str]:
    """The codes of the campaign's (unerased) children, for the identifying-text scanner."""
    return list(
        session.scalars(
            sa.select(BeneficiaryChild.code).where(
                BeneficiaryChild.campaign_id == campaign_id, BeneficiaryChild.code.is_not(None)
            )
        )
    )


def registered_count(session: Session, campaign_id: int) -> int:
    """How many children are registered (for organisers' own pages, never public ones)."""
    return (
        session.scalar(
            sa.select(sa.func.count(BeneficiaryChild.id)).where(
                BeneficiaryChild.campaign_id == campaign_id, BeneficiaryChild.erased_at.is_(None)
            )
        )
        or 0
    )


def access_log(session: Session, campaign_id: int, *, limit: int = 200) -> list[ChildAccessLog]:
    """The newest reads of the campaign's children's records."""
    return list(
        session.scalars(
            sa.select(ChildAccessLog)
            .where(ChildAccessLog.campaign_id == campaign_id)
            .order_by(ChildAccessLog.id.desc())
            .limit(limit)
        )
    )


def disbursements_reaching_children(session: Session, disbursement_ids: list[int]) -> set[int]:
    """Which of these disbursements reached at least one registered child (one query for a
    page of payments; the public learns only that, never who or how many)."""
    if not disbursement_ids:
        return set()
    rows = session.scalars(
        sa.select(DisbursementBeneficiary.disbursement_id)
        .where(DisbursementBeneficiary.disbursement_id.in_(disbursement_ids))
        .distinct()
    )
    return set(rows)
