"""the demo's own progress, so that an interrupted `cxp demo` can continue

Revision ID: 0006_demo_state
Revises: 0005_task_deadlines
Create Date: 2026-12-01 10:45:00

One row per database that holds a demo: its seed and size, whether it is still running, and what
the demo's people need to carry on after the process was killed (the scenario of each exchange,
the planned submissions already made, the transfers the simulated bank already rejected). Every
other piece of the demo's progress is in the programme's own tables.
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0006_demo_state"
down_revision = "0005_task_deadlines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "demo_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("size", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_state")),
    )


def downgrade() -> None:
    op.drop_table("demo_state")
