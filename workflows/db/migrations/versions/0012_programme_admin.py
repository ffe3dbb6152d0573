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
    # Plain ADD COLUMN, never a batch operation: on SQLite a batch would copy and drop the calls and
    # organisations tables, which other tables' rows refer to, and SQLite refuses that while foreign keys
    # are enforced (a populated database could not be upgraded).
    op.add_column("calls", sa.Column("published_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("calls", sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("calls", sa.Column("closed_reason", sa.Text(), nullable=True))
    op.add_column("organisations",
                  sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("organisations", sa.Column("deactivated_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("organisations", sa.Column("deactivated_reason", sa.Text(), nullable=True))
    op.add_column("rule_sets", sa.Column("sha256", sa.String(length=64), nullable=True))
    op.add_column("rule_sets", sa.Column("note", sa.Text(), nullable=True))
    op.add_column("rule_sets", sa.Column("created_by", sa.String(length=80), nullable=True))
    rule_sets = sa.table("rule_sets", sa.column("version", sa.String), sa.column("data", sa.JSON),
                         sa.column("sha256", sa.String))
    connection = op.get_bind()
    for version, data in connection.execute(sa.select(rule_sets.c.version, rule_sets.c.data)).all():
        document = data if isinstance(data, dict) else json.loads(data)
        connection.execute(rule_sets.update().where(rule_sets.c.version == version)
                           .values(sha256=_content_sha256(document)))
    op.create_index(op.f("ix_rule_sets_sha256"), "rule_sets", ["sha256"])


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ does it natively), for the reason given in upgrade.
    op.drop_index(op.f("ix_rule_sets_sha256"), table_name="rule_sets")
    for name in ("created_by", "note", "sha256"):
        op.drop_column("rule_sets", name)
    for name in ("deactivated_reason", "deactivated_at", "active"):
        op.drop_column("organisations", name)
    for name in ("closed_reason", "closed_at", "published_at"):
        op.drop_column("calls", name)
