"""human tasks remember when they were chased

Revision ID: 0005_task_deadlines
Revises: 0004_audit_chains
Create Date: 2026-12-01 10:30:00

Every open task has a due date and a follow-up date (from the call's rule set, or the process). The
deadline sweep reminds whoever must act once the follow-up date passes and escalates to the
partnership's officers once the due date passes; `reminded_at` and `escalated_at` record that it did,
so that each happens once.
"""
import sqlalchemy as sa
from alembic import op

import workflows.db.base

revision = "0005_task_deadlines"
down_revision = "0004_audit_chains"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch_op:
        batch_op.add_column(sa.Column("reminded_at", workflows.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", workflows.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("reminded_at")
