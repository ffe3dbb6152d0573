"""an index that answers the inbox's counts per task without reading the table

Revision ID: 0009_inbox_counts
Revises: 0008_evidence_files
Create Date: 2026-12-01 14:10:00

The inbox now says how many tasks of each kind wait (`counts_by_task`, and the total). Counting an
officer's 8,000 open tasks read every table row for its task id and assignee: 9.6 ms per inbox page
at 100,000 open tasks, against 0.3 ms for the page itself. This index holds the filter and the
counted columns, so the count reads only index entries (0.9 ms).
"""
from alembic import op

revision = "0009_inbox_counts"
down_revision = "0008_evidence_files"
branch_labels = None
depends_on = None

COLUMNS = ["status", "role", "partnership_id", "task_spec", "assignee_id"]


def upgrade() -> None:
    op.create_index("ix_human_tasks_counts", "human_tasks", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_human_tasks_counts", table_name="human_tasks")
