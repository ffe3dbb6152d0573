"""process versions deployed by a person (who, why, what was checked) and the moves of running
instances between versions, kept so that each can be rolled back

Revision ID: 0010_process_versions
Revises: 0009_inbox_counts
Create Date: 2027-01-20 10:00:00
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0010_process_versions"
down_revision = "0009_inbox_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_definitions") as batch:
        batch.add_column(sa.Column("deployed_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("checks", sa.JSON(), nullable=True))
    op.create_table(
        "process_migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("from_definition_id", sa.Integer(), nullable=False),
        sa.Column("to_definition_id", sa.Integer(), nullable=False),
        sa.Column("state_before", sa.Text(), nullable=False),
        sa.Column("tasks_before", sa.JSON(), nullable=False),
        sa.Column("lock_version_after", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("migrated_by", sa.String(length=80), nullable=False),
        sa.Column("migrated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rolled_back_by", sa.String(length=80), nullable=True),
        sa.Column("rolled_back_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("rollback_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('migrated', 'rolled_back')", name=op.f("ck_process_migrations_status")),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_process_migrations_instance_id_process_instances")),
        sa.ForeignKeyConstraint(["from_definition_id"], ["process_definitions.id"],
                                name=op.f("fk_process_migrations_from_definition_id_process_definitions")),
        sa.ForeignKeyConstraint(["to_definition_id"], ["process_definitions.id"],
                                name=op.f("fk_process_migrations_to_definition_id_process_definitions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_migrations")),
    )
    op.create_index(op.f("ix_process_migrations_instance_id"), "process_migrations", ["instance_id"])
    op.create_index(op.f("ix_process_migrations_to_definition_id"), "process_migrations", ["to_definition_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_process_migrations_to_definition_id"), table_name="process_migrations")
    op.drop_index(op.f("ix_process_migrations_instance_id"), table_name="process_migrations")
    op.drop_table("process_migrations")
    with op.batch_alter_table("process_definitions") as batch:
        batch.drop_column("checks")
        batch.drop_column("reason")
        batch.drop_column("deployed_by")
