"""evidence consent: files that show children, which children, withholding; triggers

An evidence file is declared to show children or not, and the children it shows are linked in
``disbursement_evidence_children``, which is INSERT-only. Once a file shows children it always
does, and once it is withheld (guardian consent withdrawn, or the child's record erased) it
stays withheld: triggers refuse the reverse on SQLite and PostgreSQL alike. The activity log
learns the ``evidence_withheld`` step.

On SQLite a CHECK constraint can only be added by rebuilding the table, which drops its
triggers, so the triggers of migration 0004 on the two rebuilt tables are created again here.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 01:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from giving.append_only import allow_changes, refuse_changes
from giving.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "kind IN ('requested', 'approved', 'rejected', 'reversed', 'evidence_added', "
    "'evidence_published', 'budget_set')"
)
NEW_KINDS = (
    "kind IN ('requested', 'approved', 'rejected', 'reversed', 'evidence_added', "
    "'evidence_published', 'evidence_withheld', 'budget_set')"
)


def upgrade() -> None:
    with op.batch_alter_table("disbursement_evidence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shows_children", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("withheld_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("withheld_reason", sa.String(length=24), nullable=True))
        batch_op.create_check_constraint(
            "child_file_never_public",
            "NOT shows_children OR (published_at IS NULL AND redacted_key IS NULL)",
        )
        batch_op.create_check_constraint(
            "withheld_child_file_with_reason",
            "(withheld_at IS NULL AND withheld_reason IS NULL) OR (shows_children "
            "AND withheld_reason IN ('consent_withdrawn', 'child_erased'))",
        )

    with op.batch_alter_table("disbursement_activity", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_disbursement_activity_kind_known"), type_="check")
        batch_op.create_check_constraint("kind_known", NEW_KINDS)

    op.create_table(
        "disbursement_evidence_children",
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("declared_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["beneficiary_children.id"],
            name=op.f("fk_disbursement_evidence_children_child_id_beneficiary_children"),
        ),
        sa.ForeignKeyConstraint(
            ["declared_by_id"],
            ["users.id"],
            name=op.f("fk_disbursement_evidence_children_declared_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["disbursement_evidence.id"],
            name=op.f("fk_disbursement_evidence_children_evidence_id_disbursement_evidence"),
        ),
        sa.PrimaryKeyConstraint(
            "evidence_id", "child_id", name=op.f("pk_disbursement_evidence_children")
        ),
    )
    with op.batch_alter_table("disbursement_evidence_children", schema=None) as batch_op:
        batch_op.create_index("ix_disbursement_evidence_children_child", ["child_id"], unique=False)

    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table("disbursement_evidence_children", schema=None) as batch_op:
        batch_op.drop_index("ix_disbursement_evidence_children_child")
    op.drop_table("disbursement_evidence_children")

    with op.batch_alter_table("disbursement_activity", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_disbursement_activity_kind_known"), type_="check")
        batch_op.create_check_constraint("kind_known", OLD_KINDS)

    with op.batch_alter_table("disbursement_evidence", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_disbursement_evidence_withheld_child_file_with_reason"), type_="check"
        )
        batch_op.drop_constraint(
            op.f("ck_disbursement_evidence_child_file_never_public"), type_="check"
        )
        batch_op.drop_column("withheld_reason")
        batch_op.drop_column("withheld_at")
        batch_op.drop_column("shows_children")
    _recreate_0004_triggers_on_sqlite()


# ---------------------------------------------------------------------------------- triggers
# The consent guards are written out here rather than imported, so this revision keeps
# creating exactly these triggers whatever the application code later becomes; the
# append-only ones come from giving/append_only.py, whose output is fixed
# (tests/test_append_only.py).

ACTIVITY = "disbursement_activity"
EVIDENCE = "disbursement_evidence"
PICTURED = "disbursement_evidence_children"
EVIDENCE_FIXED_COLUMNS = "sha256, storage_key, disbursement_id, token"
CONSENT_COLUMNS = "shows_children, withheld_at, withheld_reason"

POSTGRES_FUNCTION = """
CREATE FUNCTION disbursements_check_evidence_consent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.shows_children AND NOT NEW.shows_children)
       OR (OLD.withheld_at IS NOT NULL
           AND (NEW.withheld_at IS DISTINCT FROM OLD.withheld_at
                OR NEW.withheld_reason IS DISTINCT FROM OLD.withheld_reason)) THEN
        RAISE EXCEPTION 'disbursement_evidence: what evidence % shows, and its withholding, '
                        'are fixed', OLD.id;
    END IF;
    RETURN NEW;
END
$$;
"""

SQLITE_CONSENT_FIXED = (
    f"CREATE TRIGGER {EVIDENCE}_consent_fixed BEFORE UPDATE OF {CONSENT_COLUMNS} ON {EVIDENCE} "
    "WHEN (OLD.shows_children AND NOT NEW.shows_children) OR (OLD.withheld_at IS NOT NULL "
    "AND (NEW.withheld_at IS NOT OLD.withheld_at "
    "OR NEW.withheld_reason IS NOT OLD.withheld_reason)) "
    f"BEGIN SELECT RAISE(ABORT, '{EVIDENCE}: what a file shows, and its withholding, "
    "are fixed'); END"
)


def _recreate_0004_triggers_on_sqlite() -> None:
    """Migration 0004's SQLite triggers on the two tables a batch rebuild recreated."""
    if op.get_bind().dialect.name != "sqlite":
        return
    refuse_changes(ACTIVITY, if_missing=True)
    refuse_changes(EVIDENCE, refuse=["DELETE"], if_missing=True)
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS {EVIDENCE}_original_fixed "
        f"BEFORE UPDATE OF {EVIDENCE_FIXED_COLUMNS} ON {EVIDENCE} "
        "WHEN NEW.sha256 IS NOT OLD.sha256 OR NEW.storage_key IS NOT OLD.storage_key "
        "OR NEW.disbursement_id IS NOT OLD.disbursement_id OR NEW.token IS NOT OLD.token "
        f"BEGIN SELECT RAISE(ABORT, '{EVIDENCE}: the original file is fixed'); END"
    )


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # Migration 0004's function refuses any change to an append-only table.
        refuse_changes(PICTURED, function="disbursements_refuse_change")
        op.execute(POSTGRES_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {EVIDENCE}_consent_fixed BEFORE UPDATE ON {EVIDENCE} "
            "FOR EACH ROW EXECUTE FUNCTION disbursements_check_evidence_consent()"
        )
    elif dialect == "sqlite":
        _recreate_0004_triggers_on_sqlite()
        refuse_changes(PICTURED)
        op.execute(SQLITE_CONSENT_FIXED)
    else:  # pragma: no cover - Giving runs on SQLite and PostgreSQL only
        raise NotImplementedError(f"no evidence consent triggers for {dialect}")


def _drop_triggers() -> None:
    allow_changes(PICTURED)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {EVIDENCE}_consent_fixed ON {EVIDENCE}")
        op.execute("DROP FUNCTION IF EXISTS disbursements_check_evidence_consent()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {EVIDENCE}_consent_fixed")
