"""Writing to the audit log from inside a service's unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from giving.audit.models import AuditEvent


def record_action(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    **detail: Any,
) -> AuditEvent:
    """Add an audit row in the caller's transaction, so the record and the change agree."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        detail=detail,
    )
    session.add(event)
    return event
