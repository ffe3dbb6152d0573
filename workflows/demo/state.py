"""The demo's own progress in the database (table `demo_state`, one row), so that `cxp demo` on a
database holding an unfinished demo continues it after the process was killed.

`progress` holds what is not in the programme's tables: the scenario of each exchange, the planned
submissions already made, the transfers the simulated bank already rejected and the one-off acts
of the demo's officers. Each is written in the same transaction as the act it records, except the
bank's verdict, which is written just before the bank's file is imported."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.attributes import flag_modified

from workflows.db.base import Base, UTCDateTime, must_get
from workflows.uow import UnitOfWork

RUNNING, FINISHED = "running", "finished"


class DemoState(Base):
    __tablename__ = "demo_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    size: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=RUNNING)
    progress: Mapped[dict[str, Any]] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def empty_progress() -> dict[str, Any]:
    return {"scenarios": {}, "done": [], "rejected": [], "acts": []}


def load(uow: UnitOfWork) -> DemoState | None:
    return uow.session.get(DemoState, 1)


def create(uow: UnitOfWork, seed: int, size: str) -> DemoState:
    row = DemoState(id=1, seed=seed, size=size, status=RUNNING, progress=empty_progress(),
                    started_at=uow.now(), updated_at=uow.now())
    uow.session.add(row)
    return row


def record(uow: UnitOfWork, key: str, value: Any, ref: str | None = None) -> None:
    """Add `value` to the list `key` (or set `scenarios[ref] = value`) in this transaction."""
    row = must_get(uow.session, DemoState, 1, with_for_update=True)
    progress = dict(row.progress)
    if key == "scenarios":
        progress["scenarios"] = {**progress.get("scenarios", {}), ref: value}
    elif value not in progress.get(key, []):
        progress[key] = [*progress.get(key, []), value]
    row.progress = progress
    row.updated_at = uow.now()
    flag_modified(row, "progress")


def finish(uow: UnitOfWork) -> None:
    row = must_get(uow.session, DemoState, 1, with_for_update=True)
    row.status, row.finished_at, row.updated_at = FINISHED, uow.now(), uow.now()
