"""derived figures: campaign totals, donors and the FIFO book, kept by the sequencer

Pages used to recompute totals, donor counts and first-in-first-out allocation from every
posting of a campaign. These tables hold them instead (giving/ledger/figures.py); the
sequencer updates them in the transaction that seals entries, and ``giving ledger verify``
replays the ledger to check them. They are derived, so they carry no append-only trigger.

An existing ledger is replayed into them here, so a database upgraded to this revision
verifies at once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from giving.db import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = ("gross_raised", "processor_fees", "platform_fees", "refunds", "disputes")


def upgrade() -> None:
    op.create_table(
        "ledger_campaign_totals",
        sa.Column("campaign", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _MONEY),
        sa.Column("disbursed", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("uncovered", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign", "currency", name=op.f("pk_ledger_campaign_totals")),
    )
    op.create_table(
        "ledger_campaign_stats",
        sa.Column("campaign", sa.String(length=24), nullable=False),
        sa.Column("donors", sa.BigInteger(), nullable=False),
        sa.Column("donations", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign", name=op.f("pk_ledger_campaign_stats")),
    )
    op.create_table(
        "ledger_campaign_donors",
        sa.Column("campaign", sa.String(length=24), nullable=False),
        sa.Column("donor_commitment", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign", "donor_commitment", name=op.f("pk_ledger_campaign_donors")
        ),
    )
    op.create_table(
        "ledger_fifo_inflows",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("campaign", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("taken_back", sa.BigInteger(), nullable=False),
        sa.Column("own_fees", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_fifo_inflows")),
    )
    with op.batch_alter_table("ledger_fifo_inflows") as batch_op:
        batch_op.create_index(
            "ix_ledger_fifo_inflows_with_money",
            ["campaign", "currency", "seq"],
            unique=False,
            postgresql_where=sa.text("remaining > 0"),
            sqlite_where=sa.text("remaining > 0"),
        )
    op.create_table(
        "ledger_fifo_outflows",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("campaign", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("uncovered", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_fifo_outflows")),
    )
    with op.batch_alter_table("ledger_fifo_outflows") as batch_op:
        batch_op.create_index(
            "ix_ledger_fifo_outflows_campaign", ["campaign", "currency", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_fifo_outflows_uncovered",
            ["campaign", "currency", "seq"],
            unique=False,
            postgresql_where=sa.text("uncovered > 0"),
            sqlite_where=sa.text("uncovered > 0"),
        )
    op.create_table(
        "ledger_fifo_allocations",
        sa.Column("donation_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("outflow_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "donation_seq", "outflow_seq", name=op.f("pk_ledger_fifo_allocations")
        ),
    )
    with op.batch_alter_table("ledger_fifo_allocations") as batch_op:
        batch_op.create_index("ix_ledger_fifo_allocations_outflow", ["outflow_seq"], unique=False)

    # A receipt reads its gifts by intent.
    with op.batch_alter_table("donations") as batch_op:
        batch_op.create_index("ix_donations_intent_id", ["intent_id"], unique=False)

    # Fill them from the ledger as it stands (a no-op on a new database).
    from giving.ledger.figures_replay import rebuild_figures

    rebuild_figures(Session(bind=op.get_bind()))


def downgrade() -> None:
    with op.batch_alter_table("donations") as batch_op:
        batch_op.drop_index("ix_donations_intent_id")
    for table in (
        "ledger_fifo_allocations",
        "ledger_fifo_outflows",
        "ledger_fifo_inflows",
        "ledger_campaign_donors",
        "ledger_campaign_stats",
        "ledger_campaign_totals",
    ):
        op.drop_table(table)
