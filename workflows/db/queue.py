"""Taking the next due row of a work queue (timer sweep, outbox) safely with several workers."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session


def take_next(session: Session, query: Select[Any], id_column: Any, skip: Collection[int] = ()) -> Any | None:
    """The first row of `query` not in `skip`; on PostgreSQL rows locked by another worker are
    passed over (`FOR UPDATE SKIP LOCKED`), on SQLite the single writer needs no lock."""
    if skip:
        query = query.where(id_column.not_in(skip))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query.limit(1)).first()
