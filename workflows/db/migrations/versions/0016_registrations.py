"""registration of an organisation in the product: the registrations (verification link as SHA-256, the
assessing partnership, the outcome), the organisation's registration status (existing ones approved),
and per-client request counts for rate limits

Revision ID: 0016_registrations
Revises: 0015_search_fold
Create Date: 2027-02-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0016_registrations"
down_revision = "0015_search_fold"
branch_labels = None
depends_on = None

STATUSES = ("pending_verification", "verified", "information_requested", "approved", "rejected")


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch operation: other tables' rows refer to the organisations. The
    # server default backfills every existing organisation (imported, the demo's) as approved.
    allowed = "registration_status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")"
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds no constraint to a table, but takes one on a column
        op.execute("ALTER TABLE organisations ADD COLUMN registration_status VARCHAR(30) NOT NULL "
                   f"DEFAULT 'approved' CONSTRAINT ck_organisations_registration_status CHECK ({allowed})")
    else:
        op.add_column("organisations", sa.Column("registration_status", sa.String(length=30), nullable=False,
                                                 server_default="approved"))
        op.create_check_constraint("ck_organisations_registration_status", "organisations", allowed)
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False, unique=True),
        sa.Column("partnership_id", sa.Integer(), sa.ForeignKey("partnerships.id"), nullable=False, index=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=True, unique=True),
        sa.Column("token_expires_at", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("client_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
                           name="registration_status"),
    )
    op.create_table(
        "request_counts",
        sa.Column("key", sa.String(length=120), primary_key=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("window_ends", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("request_counts")
    op.drop_table("registrations")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_organisations_registration_status", "organisations", type_="check")
    op.drop_column("organisations", "registration_status")
