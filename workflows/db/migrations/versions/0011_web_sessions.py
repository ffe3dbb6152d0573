"""web sessions kept on the server, and sign-in attempts counted per username before the password check

Revision ID: 0011_web_sessions
Revises: 0010_process_versions
Create Date: 2027-01-25 10:00:00

`web_sessions`: one row per signed-in session (the SHA-256 of the secret its cookie carries, its
user, when it began, expires and was last seen, when and why it ended), so that a session ends on
the server: at logout, when the password changes, when the user is disabled or all their sessions
are ended. `sign_in_attempts`: the attempts of each username (a user's or not), reserved atomically
before the password is checked. They replace the counters of `users` (failed_logins,
last_failed_login_at, locked_until), which are dropped: SQLite ≥ 3.35 drops a column in place, so the
users table (referenced by most others) is not rebuilt. Counts in progress start again from zero.
"""
import sqlalchemy as sa
from alembic import op

from workflows.db.base import UTCDateTime

revision = "0011_web_sessions"
down_revision = "0010_process_versions"
branch_labels = None
depends_on = None

OLD_COUNTERS = ("last_failed_login_at", "locked_until")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_web_sessions_secret_hash")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)
    op.create_table(
        "sign_in_attempts",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("refused_before", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_sign_in_attempts")),
    )
    op.drop_column("users", "failed_logins")
    for name in OLD_COUNTERS:
        op.drop_column("users", name)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        for name in OLD_COUNTERS:
            batch_op.add_column(sa.Column(name, UTCDateTime(timezone=True), nullable=True))
    op.drop_table("sign_in_attempts")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
