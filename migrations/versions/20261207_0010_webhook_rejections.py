"""rejected webhook events: a status the retry job skips, and a flag kind admins see

A signed Stripe event whose fields are not what Stripe sends (an amount that is text...)
would fail the same way on every retry. It is now marked ``rejected`` instead of ``failed``
and flagged ``malformed_event`` for an admin. Only the two CHECK constraints change; on
SQLite that rebuilds both tables, which carry no triggers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('received', 'handled', 'parked', 'flagged', 'ignored', 'failed')"
NEW_STATUSES = (
    "status IN ('received', 'handled', 'parked', 'flagged', 'ignored', 'failed', 'rejected')"
)
OLD_KINDS = "kind IN ('amount_mismatch', 'currency_mismatch', 'unknown_intent', 'unexpected')"
NEW_KINDS = (
    "kind IN ('amount_mismatch', 'currency_mismatch', 'unknown_intent', 'unexpected', "
    "'malformed_event')"
)


def _replace_checks(statuses: str, kinds: str) -> None:
    with op.batch_alter_table("stripe_event_states", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_stripe_event_states_status_known"), type_="check")
        batch_op.create_check_constraint("status_known", statuses)
    with op.batch_alter_table("payment_flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payment_flags_kind_known"), type_="check")
        batch_op.create_check_constraint("kind_known", kinds)


def upgrade() -> None:
    _replace_checks(NEW_STATUSES, NEW_KINDS)


def downgrade() -> None:
    # Rejected events go back to failed (the old schema's nearest state) and their flags to
    # "unexpected", so the old constraints hold again.
    op.execute("UPDATE stripe_event_states SET status = 'failed' WHERE status = 'rejected'")
    op.execute("UPDATE payment_flags SET kind = 'unexpected' WHERE kind = 'malformed_event'")
    _replace_checks(OLD_STATUSES, OLD_KINDS)
