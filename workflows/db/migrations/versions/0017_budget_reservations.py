"""budget reservations: a grant's R-BUDGET commitment taken in a short transaction of its own, so that
no step holds its call's row locked until it commits (issue 21)

Revision ID: 0017_budget_reservations
Revises: 0016_registrations
Create Date: 2027-02-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0017_budget_reservations"
down_revision = "0016_registrations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_reservations",
        sa.Column("exchange_id", sa.Integer(), sa.ForeignKey("exchanges.id"), nullable=False, autoincrement=False),
        sa.Column("call_id", sa.Integer(), sa.ForeignKey("calls.id"), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("exchange_id", name=op.f("pk_budget_reservations")),
    )
    op.create_index(op.f("ix_budget_reservations_call_id"), "budget_reservations", ["call_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_budget_reservations_call_id"), table_name="budget_reservations")
    op.drop_table("budget_reservations")
