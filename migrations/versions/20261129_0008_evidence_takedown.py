"""evidence take-down: unpublishing a redacted copy, declaring a child later, no_consent

A published redacted copy can be taken down (``evidence_unpublished``), and a file uploaded as
showing no child can be declared later to show one (``evidence_shows_children``); a file so
declared whose child has no recorded guardian consent is withheld with the new reason
``no_consent``. Only CHECK constraints change: the activity log's known kinds and the known
withholding reasons. Migration 0007's trigger already lets ``shows_children`` turn on.

On SQLite a CHECK constraint can only be changed by rebuilding the table, which drops its
triggers, so the triggers of migrations 0004 and 0007 on the two rebuilt tables are created
again here (PostgreSQL keeps them through ALTER TABLE).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 05:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from giving.append_only import refuse_changes

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "kind IN ('requested', 'approved', 'rejected', 'reversed', 'evidence_added', "
    "'evidence_published', 'evidence_withheld', 'budget_set')"
)
NEW_KINDS = (
    "kind IN ('requested', 'approved', 'rejected', 'reversed', 'evidence_added', "
    "'evidence_published', 'evidence_withheld', 'evidence_unpublished', "
    "'evidence_shows_children', 'budget_set')"
)
OLD_WITHHELD = (
    "(withheld_at IS NULL AND withheld_reason IS NULL) OR (shows_children "
    "AND withheld_reason IN ('consent_withdrawn', 'child_erased'))"
)
NEW_WITHHELD = (
    "(withheld_at IS NULL AND withheld_reason IS NULL) OR (shows_children "
    "AND withheld_reason IN ('consent_withdrawn', 'child_erased', 'no_consent'))"
)


def upgrade() -> None:
    _change_checks(kinds=NEW_KINDS, withheld=NEW_WITHHELD)


def downgrade() -> None:
    _change_checks(kinds=OLD_KINDS, withheld=OLD_WITHHELD)


def _change_checks(*, kinds: str, withheld: str) -> None:
    with op.batch_alter_table("disbursement_evidence", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_disbursement_evidence_withheld_child_file_with_reason"), type_="check"
        )
        batch_op.create_check_constraint("withheld_child_file_with_reason", withheld)

    with op.batch_alter_table("disbursement_activity", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_disbursement_activity_kind_known"), type_="check")
        batch_op.create_check_constraint("kind_known", kinds)

    _recreate_triggers_on_sqlite()


# ---------------------------------------------------------------------------------- triggers
# The evidence guards are written out here rather than imported, so this revision keeps
# creating exactly these triggers whatever the application code later becomes; the
# append-only ones come from giving/append_only.py, whose output is fixed
# (tests/test_append_only.py).

ACTIVITY = "disbursement_activity"
EVIDENCE = "disbursement_evidence"
EVIDENCE_FIXED_COLUMNS = "sha256, storage_key, disbursement_id, token"
CONSENT_COLUMNS = "shows_children, withheld_at, withheld_reason"

SQLITE_CONSENT_FIXED = (
    f"CREATE TRIGGER IF NOT EXISTS {EVIDENCE}_consent_fixed "
    f"BEFORE UPDATE OF {CONSENT_COLUMNS} ON {EVIDENCE} "
    "WHEN (OLD.shows_children AND NOT NEW.shows_children) OR (OLD.withheld_at IS NOT NULL "
    "AND (NEW.withheld_at IS NOT OLD.withheld_at "
    "OR NEW.withheld_reason IS NOT OLD.withheld_reason)) "
    f"BEGIN SELECT RAISE(ABORT, '{EVIDENCE}: what a file shows, and its withholding, "
    "are fixed'); END"
)


def _recreate_triggers_on_sqlite() -> None:
    """The SQLite triggers of migrations 0004 and 0007 on the two tables a batch rebuild
    recreated (the same statements, so upgrade and downgrade leave the same triggers)."""
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
    op.execute(SQLITE_CONSENT_FIXED)
