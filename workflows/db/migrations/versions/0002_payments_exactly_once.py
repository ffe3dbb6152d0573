"""payments exactly once: rebuildable batch files, one open line per claim, bank file sources

Revision ID: 0002_payments
Revises: 0001
Create Date: 2026-11-24 22:00:00

- payment_batches keeps the debtor account it paid from and the CSV summary's hash, so that a batch
  file can be rebuilt byte for byte from the database and checked against the stored SHA-256;
- payment_lines keeps the remittance text as written into the file, and a partial unique index makes
  the database itself refuse a second line for a claim unless the bank rejected the first;
- bank_file_imports records the file name and the payment message a bank file answers.
"""
import sqlalchemy as sa
from alembic import op

import workflows.db.base

revision = "0002_payments"
down_revision = "0001"
branch_labels = None
depends_on = None

_OPEN_LINE = sa.text("status != 'rejected'")


def upgrade() -> None:
    with op.batch_alter_table("payment_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("debtor_name", sa.String(length=140), nullable=True))
        batch_op.add_column(sa.Column("debtor_iban", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("debtor_bic", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("settled_at", workflows.db.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("payment_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remittance", sa.String(length=140), nullable=True))
    op.create_index("uq_payment_lines_open_claim", "payment_lines", ["claim_id"], unique=True,
                    sqlite_where=_OPEN_LINE, postgresql_where=_OPEN_LINE)
    with op.batch_alter_table("bank_file_imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("original_msg_id", sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bank_file_imports", schema=None) as batch_op:
        batch_op.drop_column("original_msg_id")
        batch_op.drop_column("source")
    op.drop_index("uq_payment_lines_open_claim", table_name="payment_lines")
    with op.batch_alter_table("payment_lines", schema=None) as batch_op:
        batch_op.drop_column("remittance")
    with op.batch_alter_table("payment_batches", schema=None) as batch_op:
        batch_op.drop_column("settled_at")
        batch_op.drop_column("debtor_bic")
        batch_op.drop_column("debtor_iban")
        batch_op.drop_column("debtor_name")
        batch_op.drop_column("summary_sha256")
