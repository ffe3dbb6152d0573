"""audit trail: one chain per process instance, keyed hashes

Revision ID: 0004_audit_chains
Revises: 0003_inbox_order
Create Date: 2026-12-01 10:30:00

The single `audit_chain_head` row was locked by every transaction that wrote an event, so every step of
every partnership waited on one row (SPEC §11). Events now chain per process instance
(`instance:<id>`), events of no instance on the `global` chain, each chain's head in `audit_chains`.

New events are hashed with HMAC-SHA256 under `CXP_AUDIT_KEY`, which the database never holds. The
events written before this revision stay as they were: all on the `global` chain (the column's
default, so no event row is rewritten — the table refuses UPDATE), hashed with plain SHA-256; the
global head row counts them in `plain`, which `verify` uses to check the first `plain` events of that
chain the old way and every later event with the key.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_audit_chains"
down_revision = "0003_inbox_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("chain", sa.String(length=40), nullable=False,
                                            server_default=sa.text("'global'")))
    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("plain", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chains")),
    )
    op.execute(
        "INSERT INTO audit_chains (chain, events, last_hash, plain) "
        "SELECT 'global', (SELECT COUNT(*) FROM audit_events), last_hash, (SELECT COUNT(*) FROM audit_events) "
        "FROM audit_chain_head WHERE id = 1")
    op.drop_table("audit_chain_head")


def downgrade() -> None:
    bind = op.get_bind()
    keyed = bind.execute(sa.text("SELECT COUNT(*) FROM audit_chains WHERE events > plain")).scalar()
    if keyed:
        raise RuntimeError(f"{keyed} audit chains hold keyed (HMAC) events, which revision 0003 cannot verify")
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.execute("INSERT INTO audit_chain_head (id, last_event_id, last_hash) "
               "SELECT 1, NULL, last_hash FROM audit_chains WHERE chain = 'global'")
    op.drop_table("audit_chains")
    op.execute("ALTER TABLE audit_events DROP COLUMN chain")  # SQLite >= 3.35 too; keeps its triggers
