"""programme administration: a call's publication and early closing (when, why), organisations
deactivated with a reason (their history kept), rule-set versions stored once by content

Revision ID: 0012_programme_admin
Revises: 0011_web_sessions
Create Date: 2027-01-25 10:00:00
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0012_programme_admin"
down_revision = "0011_web_sessions"
branch_labels = None
depends_on = None


def _content_sha256(data: dict) -> str:
    """As `rules.ruleset.rule_set_digest`: the document without its version, canonical JSON."""
    body = {k: v for k, v in data.items() if k != "version"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("published_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("deactivated_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deactivated_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("rule_sets") as batch:
        batch.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(length=80), nullable=True))
    rule_sets = sa.table("rule_sets", sa.column("version", sa.String), sa.column("data", sa.JSON),
                         sa.column("sha256", sa.String))
    connection = op.get_bind()
    for version, data in connection.execute(sa.select(rule_sets.c.version, rule_sets.c.data)).all():
        document = data if isinstance(data, dict) else json.loads(data)
        connection.execute(rule_sets.update().where(rule_sets.c.version == version)
                           .values(sha256=_content_sha256(document)))
    op.create_index(op.f("ix_rule_sets_sha256"), "rule_sets", ["sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rule_sets_sha256"), table_name="rule_sets")
    with op.batch_alter_table("rule_sets") as batch:
        batch.drop_column("created_by")
        batch.drop_column("note")
        batch.drop_column("sha256")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("deactivated_reason")
        batch.drop_column("deactivated_at")
        batch.drop_column("active")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("closed_reason")
        batch.drop_column("closed_at")
        batch.drop_column("published_at")
