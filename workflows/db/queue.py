"""Background work shared by any number of workers (SPEC §15): due rows are claimed in small batches
with a lease — an owner and an expiry — and each item's effects are committed with the end of its claim.

- `claim` takes up to `size` due rows whose lease is free or has run out, in one short transaction:
  on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` passes over the rows another worker is claiming at
  that moment, and the lease then keeps them away from the other workers while this one works through
  them; on SQLite the same statements run under the single writer's lock.
- The worker then does each item in a transaction of its own that locks the row, checks that the lease
  is still its own (`holds`), does the work and clears the lease in the same commit (`release`). A
  worker killed half-way leaves its items leased until the lease ends; then any worker claims them. An
  item whose lease ran out while its owner was slow is taken by one of the two only: the other finds
  the lease no longer its own, or the work already done, once it holds the row's lock.

Leases are in wall-clock UTC (the workers' clocks are kept by NTP), not the programme's simulated clock.
"""
from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, Table, or_, select, update
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from workflows.uow import UnitOfWork


@lru_cache(maxsize=1)
def worker_id() -> str:
    """This process as a lease owner: host, process id and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def wall_clock() -> datetime:
    return datetime.now(UTC)


def claim(uow: UnitOfWork, table: Table, due: Any, order: tuple[Any, ...], *, owner: str, lease: timedelta,
          size: int, skip: Collection[int] = (), now: datetime | None = None) -> list[int]:
    """Lease up to `size` rows of `table` matching `due` (in `order`) whose lease is free or over; their
    ids. The caller commits: the claim is one short transaction of its own."""
    now = now or wall_clock()
    query = (select(table.c.id).where(due, or_(table.c.lease_until.is_(None), table.c.lease_until < now))
             .order_by(*order).limit(size))
    if skip:
        query = query.where(table.c.id.not_in(skip))
    conn = uow.connection
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row_id for (row_id,) in conn.execute(query)]
    if ids:
        conn.execute(update(table).where(table.c.id.in_(ids)).values(lease_owner=owner, lease_until=now + lease))
    return ids


def holds(row: Any, owner: str) -> bool:
    """The row (read under its lock) is still leased to `owner`."""
    return bool(row.lease_owner == owner)


def release(uow: UnitOfWork, table: Table, row_id: int, owner: str) -> None:
    """Clear `owner`'s lease on the row, in the transaction that did its work."""
    uow.connection.execute(update(table).where(table.c.id == row_id, table.c.lease_owner == owner)
                           .values(lease_owner=None, lease_until=None))


def take_next(session: Session, query: Select[Any], id_column: Any, skip: Collection[int] = ()) -> Any | None:
    """The first row of `query` not in `skip`; on PostgreSQL rows locked by another worker are
    passed over (`FOR UPDATE SKIP LOCKED`), on SQLite the single writer needs no lock."""
    if skip:
        query = query.where(id_column.not_in(skip))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query.limit(1)).first()
