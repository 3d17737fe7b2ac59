"""books: checkpoints record the origin and key they were signed under; late-gift flags

Checkpoint notes were always signed under an origin (the log's name) and a key, but
verification took both from the current settings, and the origin followed the web address:
after a change of address every old checkpoint failed. Each new checkpoint now stores its
origin, key name and key ID beside the note. Checkpoints stored before this revision keep
NULL there (the table is append-only, and their notes say the same thing), and verification
reads their origin and signer from the note itself.

A payment completed after a campaign's end is still recorded (the money moved) and flagged
for the campaign's host: the flag kind ``after_end`` joins the payment flags' check, and a
flag names the campaign it concerns so organiser and host pages can list it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_OLD_KINDS = (
    "'amount_mismatch', 'currency_mismatch', 'unknown_intent', 'unexpected', 'malformed_event'"
)
_NEW_KINDS = _OLD_KINDS + ", 'after_end'"


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: no table rebuild, so the append-only triggers stay.
    op.add_column("ledger_checkpoints", sa.Column("origin", sa.Text(), nullable=True))
    op.add_column("ledger_checkpoints", sa.Column("key_name", sa.Text(), nullable=True))
    op.add_column(
        "ledger_checkpoints", sa.Column("key_id", sa.LargeBinary(length=4), nullable=True)
    )
    _replace_flag_kinds(_NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM payment_flags WHERE kind = 'after_end'")
    _replace_flag_kinds(_OLD_KINDS)
    for column in ("key_id", "key_name", "origin"):
        op.drop_column("ledger_checkpoints", column)


def _replace_flag_kinds(kinds: str) -> None:
    # payment_flags carries no triggers, so SQLite's batch rebuild of it loses nothing.
    with op.batch_alter_table("payment_flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payment_flags_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_payment_flags_kind_known"), f"kind IN ({kinds})")
