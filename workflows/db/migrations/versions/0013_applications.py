"""applications in the product: a visitor's preferred host offers (at most three, in its order), which the
matching solver gives a bonus

Revision ID: 0013_applications
Revises: 0012_programme_admin
Create Date: 2027-01-26 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_applications"
down_revision = "0012_programme_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch operation: other tables' rows refer to applications.
    op.add_column("applications", sa.Column("preferred_offers", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("applications", "preferred_offers")
