"""leases on background work: who claimed a due timer's instance or an outbox row, and until when

Revision ID: 0014_leases
Revises: 0013_applications
Create Date: 2027-02-01 10:00:00
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0014_leases"
down_revision = "0013_applications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, never a batch operation: other tables' rows refer to process_instances.
    op.add_column("process_instances", sa.Column("lease_owner", sa.String(length=120), nullable=True))
    op.add_column("process_instances", sa.Column("lease_until", UTCDateTime(), nullable=True))
    op.add_column("outbox_messages", sa.Column("lease_owner", sa.String(length=120), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox_messages", "lease_owner")
    op.drop_column("process_instances", "lease_until")
    op.drop_column("process_instances", "lease_owner")
