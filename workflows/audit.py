"""R-AUDIT: append-only, hash-chained audit events written in the caller's transaction."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Hashable, Iterator, Mapping

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from workflows.db.prepared import Prepared
from workflows.db.process_models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something: a user (id, username, role) or the system."""

    id: int | None
    name: str
    role: str


SYSTEM = Actor(None, "system", "system")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"cannot record {type(value).__name__} in the audit trail")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def jsonable(data: Any) -> Any:
    """The JSON form of `data` (Decimals as strings, dates ISO), as stored and as hashed. A flat dict
    with text keys (what most events carry) is converted directly, as the round trip through JSON
    text would convert it."""
    if data is None:
        return None
    if type(data) is dict:
        converted: dict[str, Any] = {}
        for key, value in data.items():
            kind = type(value)
            if type(key) is not str:
                break
            if kind in _SCALARS:
                converted[key] = value
            elif kind is datetime or kind is date:
                converted[key] = value.isoformat()
            elif kind is Decimal:
                converted[key] = str(value)
            else:
                break
        else:
            return converted
    return json.loads(json.dumps(data, default=_default))


# What an event's hash covers: everything but its id and the hash itself.
HASHED = ("occurred_at", "actor_id", "actor", "actor_role", "instance_id", "task", "action", "subject",
          "data_before", "data_after", "prev_hash")


# json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), its encoder made once
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _digest(values: Mapping[str, Any]) -> str:
    fields = {name: values[name] for name in HASHED}
    fields["occurred_at"] = fields["occurred_at"].isoformat()
    return hashlib.sha256(_CANONICAL(fields).encode("utf-8")).hexdigest()


# The events of a transaction are hashed as they are recorded and written in one batch — before the
# transaction commits, and before any ORM query of the same unit of work (so its session always sees
# its own events). The chain head row is read, locked on PostgreSQL, once per transaction.
_EVENTS = AuditEvent.__table__
_HEAD = AuditChainHead.__table__
_READ_HEAD = Prepared(select(_HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update())
_INSERT_HEAD = Prepared(insert(_HEAD).values(id=1, last_event_id=None, last_hash=bindparam("last_hash")))
_MOVE_HEAD = Prepared(update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=bindparam("last_hash")))
_INSERT = Prepared(insert(_EVENTS).values({c.name: bindparam(c.name) for c in _EVENTS.columns if c.name != "id"}))


@dataclass
class _Pending:
    """This transaction's part of the chain: its events in order, how many are written, the head."""

    head: str
    head_exists: bool
    events: list[dict[str, Any]]
    written: int = 0


class Trail:
    """One unit of work's part of the hash chain, written on `connection()` — the unit of work's
    transaction. Savepoints mark it (`mark`) and take back what was recorded inside them (`undo`)."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection
        self._pending: _Pending | None = None
        self._marks: dict[Hashable, tuple[int, int, str, bool] | None] = {}

    def _open(self) -> _Pending:
        pending = self._pending
        if pending is None:
            row = _READ_HEAD.first(self._connection())
            pending = self._pending = _Pending(head=row[0] if row else GENESIS, head_exists=row is not None,
                                               events=[])
        return pending

    def record(
        self,
        *,
        actor: Actor,
        action: str,
        at: datetime,
        instance_id: int | None = None,
        task: str | None = None,
        subject: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Append one event to the chain inside the unit of work's transaction."""
        pending = self._open()
        event = {
            "occurred_at": at.astimezone(timezone.utc),
            "actor_id": actor.id,
            "actor": actor.name,
            "actor_role": actor.role,
            "instance_id": instance_id,
            "task": task,
            "action": action,
            "subject": subject,
            "data_before": jsonable(before),
            "data_after": jsonable(after),
            "prev_hash": pending.head,
        }
        event["hash"] = _digest(event)
        pending.events.append(event)
        pending.head = event["hash"]

    def write(self) -> None:
        """Write the events recorded but not yet written, and move the chain head to the last one."""
        pending = self._pending
        if pending is None or pending.written == len(pending.events):
            return
        conn = self._connection()
        _INSERT.executemany(conn, pending.events[pending.written:])
        if pending.head_exists:
            _MOVE_HEAD.execute(conn, last_hash=pending.head)
        else:
            _INSERT_HEAD.execute(conn, last_hash=pending.head)
            pending.head_exists = True
        pending.written = len(pending.events)

    def forget(self) -> None:
        """Drop this transaction's chain state (after commit or rollback)."""
        self._pending = None
        self._marks.clear()

    def mark(self, key: Hashable) -> None:
        """Remember where the chain stands as savepoint `key` begins."""
        pending = self._pending
        self._marks[key] = None if pending is None else (
            len(pending.events), pending.written, pending.head, pending.head_exists)

    def undo(self, key: Hashable) -> None:
        """Savepoint `key` rolled back: take back the events recorded inside it, written or not (the
        database undid the written ones, and the head row's move with them)."""
        if key not in self._marks:
            return
        mark = self._marks.pop(key)
        pending = self._pending
        if pending is None:
            return
        if mark is None:  # the chain was first touched inside the savepoint
            self._pending = None
            return
        count, written, head, head_exists = mark
        del pending.events[count:]
        if pending.written > written:
            pending.written, pending.head_exists = written, head_exists
        pending.head = head


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    first_bad_event: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "events": self.events}
        if not self.ok:
            out.update(first_bad_event=self.first_bad_event, problem=self.problem)
        return out


def _stream(session: Session) -> Iterator[AuditEvent]:
    return session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=2000)
    )


def verify(session: Session) -> VerifyResult:
    """Recompute the chain; name the first event that was changed, removed or inserted."""
    previous = GENESIS
    count = 0
    last_id: int | None = None
    for event in _stream(session):
        count += 1
        if event.prev_hash != previous:
            return VerifyResult(False, count, event.id, "the event before it was removed, inserted or changed")
        if _digest({name: getattr(event, name) for name in HASHED}) != event.hash:
            return VerifyResult(False, count, event.id, "its content was changed after it was written")
        previous = event.hash
        last_id = event.id
    head = session.get(AuditChainHead, 1)
    if head is not None and head.last_hash != previous:
        return VerifyResult(False, count, last_id, "events after it were removed")
    return VerifyResult(True, count)
