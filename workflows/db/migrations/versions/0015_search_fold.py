"""organisations.search_fold: the legal name, legal id and city folded (any script to Latin, case-folded),
so that the searches find "Kraków" typed "krakow" and "Кластер" typed "Klaster" with a plain LIKE on
SQLite and PostgreSQL alike; backfilled here, kept on every write by the model's listener

Revision ID: 0015_search_fold
Revises: 0014_leases
Create Date: 2027-02-01 10:00:00
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.folding import organisation_fold

revision = "0015_search_fold"
down_revision = "0014_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch operation: other tables' rows refer to the organisations.
    op.add_column("organisations", sa.Column("search_fold", sa.Text(), nullable=False, server_default=""))
    organisations = sa.table("organisations", sa.column("id", sa.Integer), sa.column("legal_name", sa.String),
                             sa.column("legal_id", sa.String), sa.column("city", sa.String),
                             sa.column("search_fold", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(organisations.c.id, organisations.c.legal_name, organisations.c.legal_id,
                                        organisations.c.city)).all()
    for org_id, legal_name, legal_id, city in rows:
        connection.execute(organisations.update().where(organisations.c.id == org_id)
                           .values(search_fold=organisation_fold(legal_name, legal_id, city)))


def downgrade() -> None:
    op.drop_column("organisations", "search_fold")
