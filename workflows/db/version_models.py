"""Moves of running instances between versions of their process (migration 0010): what each move
changed, and what a rollback puts back."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.db.base import Base, UTCDateTime


class MigrationStatus(enum.StrEnum):
    MIGRATED = "migrated"        # the instance runs the version it was moved to
    ROLLED_BACK = "rolled_back"  # it was put back on the version (and state) it had


class ProcessMigration(Base):
    """One instance moved from one process version to another, in one audited transaction. Keeps the
    instance's state and open human-task rows as they were, and its lock version right after the
    move: a rollback puts them back only while the instance has not moved on since."""

    __tablename__ = "process_migrations"
    __table_args__ = (CheckConstraint("status IN ('migrated', 'rolled_back')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    state_before: Mapped[str] = mapped_column(Text)
    tasks_before: Mapped[list[Any]] = mapped_column()
    lock_version_after: Mapped[int] = mapped_column(Integer)
    changes: Mapped[dict[str, Any]] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    migrated_by: Mapped[str] = mapped_column(String(80))
    migrated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=MigrationStatus.MIGRATED)
    rolled_back_by: Mapped[str | None] = mapped_column(String(80), default=None)
    rolled_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    rollback_reason: Mapped[str | None] = mapped_column(Text, default=None)
