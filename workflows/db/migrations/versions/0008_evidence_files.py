"""evidence files uploaded for an exchange, stored by content hash

Revision ID: 0008_evidence_files
Revises: 0007_accounts
Create Date: 2026-12-01 13:40:00
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0008_evidence_files"
down_revision = "0007_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exchange_id"], ["exchanges.id"], name=op.f("fk_evidence_files_exchange_id_exchanges")),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"], name=op.f("fk_evidence_files_uploaded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_files")),
        sa.UniqueConstraint("exchange_id", "sha256", name=op.f("uq_evidence_files_exchange_id")),
    )
    op.create_index(op.f("ix_evidence_files_exchange_id"), "evidence_files", ["exchange_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_files_exchange_id"), table_name="evidence_files")
    op.drop_table("evidence_files")
