"""accounts: users sign in with a password, programs with an API token

Revision ID: 0007_accounts
Revises: 0006_demo_state
Create Date: 2026-12-01 13:15:00

A user gains an argon2 password hash (none: the user cannot sign in), when it last changed (a web
session issued before that is no longer valid), and the sign-in counters that slow down and then
lock repeated failures. `api_tokens` holds the bearer tokens of the HTTP API: the SHA-256 of each
secret (the secret itself is shown once and never stored), its expiry and revocation.
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0007_accounts"
down_revision = "0006_demo_state"
branch_labels = None
depends_on = None

MOMENTS = ("password_changed_at", "last_failed_login_at", "locked_until", "last_login_at")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        for name in MOMENTS:
            batch_op.add_column(sa.Column(name, UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    with op.batch_alter_table("users") as batch_op:
        for name in reversed(MOMENTS):
            batch_op.drop_column(name)
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("password_hash")
