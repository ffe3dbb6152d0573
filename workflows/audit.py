"""R-AUDIT: append-only, hash-chained audit events written in the caller's transaction.

Each event is on one chain: its process instance's (`instance:<id>`), or `global` for events of no
instance. An event's hash is an HMAC-SHA256 under the audit key (`CXP_AUDIT_KEY`, never stored in the
database) over its content, its chain and the previous event's hash on that chain; the events written
before migration 0004 (the first `plain` events of the global chain) keep their plain SHA-256. The
anchors outside the database are `workflows/services/audit_trail.py`."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from workflows.db.base import table_of
from workflows.db.prepared import Prepared
from workflows.db.process_models import AuditChain, AuditEvent

GENESIS = "0" * 64
GLOBAL = "global"
ANCHORED = "audit_anchored"  # the action of the event recording an anchor line (services/audit_trail.py)


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


# What an event's hash covers: everything but its id and the hash itself. The plain SHA-256 of the
# events written before migration 0004 covers `HASHED`; the keyed hash covers the chain too.
HASHED = ("occurred_at", "actor_id", "actor", "actor_role", "instance_id", "task", "action", "subject",
          "data_before", "data_after", "prev_hash")
KEYED = ("chain", *HASHED)


# json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), its encoder made once
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _canonical(values: Mapping[str, Any], names: tuple[str, ...]) -> bytes:
    fields = {name: values[name] for name in names}
    fields["occurred_at"] = fields["occurred_at"].isoformat()
    return _CANONICAL(fields).encode("utf-8")


def plain_digest(values: Mapping[str, Any]) -> str:
    """The plain SHA-256 of an event written before migration 0004."""
    return hashlib.sha256(_canonical(values, HASHED)).hexdigest()


class Keyed:
    """HMAC-SHA256 under the audit key; the keyed state is made once and copied per message."""

    def __init__(self, key: str | bytes) -> None:
        self._base = hmac.new(key.encode("utf-8") if isinstance(key, str) else key, digestmod=hashlib.sha256)

    def mac(self, message: bytes) -> str:
        mac = self._base.copy()
        mac.update(message)
        return mac.hexdigest()

    def event(self, values: Mapping[str, Any]) -> str:
        return self.mac(_canonical(values, KEYED))


@lru_cache(maxsize=8)
def keyed(key: str | bytes) -> Keyed:
    """The `Keyed` of `key`, made once per process (every unit of work has one)."""
    return Keyed(key)


def chain_of(instance_id: int | None) -> str:
    return GLOBAL if instance_id is None else f"instance:{instance_id}"


# The events of a transaction are recorded in memory, then hashed and written in one batch as the
# transaction commits (and before a query of the audit tables in the same unit of work, so that it sees
# its own events: workflows/uow.py). A batch first reads the heads of the chains it is the first to touch
# in this transaction, in sorted order, locking them on PostgreSQL until the transaction ends — the last
# locks the transaction takes: a step of one instance waits only for another transaction's commit on
# that instance's chain (or on `global`), and never while holding a head.
_EVENTS = table_of(AuditEvent)
_CHAINS = table_of(AuditChain)
_READ_HEAD = Prepared(select(_CHAINS.c.events, _CHAINS.c.last_hash)
                      .where(_CHAINS.c.chain == bindparam("chain_key")).with_for_update())
_INSERT_HEAD = Prepared(insert(_CHAINS).values(chain=bindparam("chain_key"), events=bindparam("count"),
                                               last_hash=bindparam("head"), plain=0))
_MOVE_HEAD = Prepared(update(_CHAINS).where(_CHAINS.c.chain == bindparam("chain_key"))
                      .values(events=bindparam("count"), last_hash=bindparam("head")))
_INSERT = Prepared(insert(_EVENTS).values({c.name: bindparam(c.name) for c in _EVENTS.columns if c.name != "id"}))

# A chain as this transaction sees it: [events, last hash, head row exists]
_Head = list


@dataclass
class _Pending:
    """This transaction's part of the trail: its events in order, how many are written, and the heads
    of the chains it has read (and locked), as moved by the written events."""

    events: list[dict[str, Any]]
    written: int
    heads: dict[str, _Head]


class Trail:
    """One unit of work's part of the audit chains, written on `connection()` — the unit of work's
    transaction. Savepoints mark it (`mark`) and take back what was recorded inside them (`undo`)."""

    def __init__(self, connection: Callable[[], Connection], key: str | bytes) -> None:
        self._connection = connection
        self.keyed = keyed(key)
        self._pending = _Pending([], 0, {})
        self._marks: dict[Hashable, tuple[int, int, dict[str, tuple[Any, ...]]]] = {}

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
        """Append one event to its chain inside the unit of work's transaction (hashed when written)."""
        self._pending.events.append({
            "chain": GLOBAL if instance_id is None else f"instance:{instance_id}",
            "occurred_at": at.astimezone(UTC),
            "actor_id": actor.id,
            "actor": actor.name,
            "actor_role": actor.role,
            "instance_id": instance_id,
            "task": task,
            "action": action,
            "subject": subject,
            "data_before": jsonable(before),
            "data_after": jsonable(after),
        })

    @property
    def unwritten(self) -> bool:
        """Events recorded in this transaction and not written yet."""
        return self._pending.written < len(self._pending.events)

    def _read_heads(self, conn: Connection, batch: list[dict[str, Any]]) -> None:
        heads = self._pending.heads
        new = {e["chain"] for e in batch if e["chain"] not in heads}
        for chain in sorted(new):  # one fixed order: two transactions never wait on each other in a cycle
            row = _READ_HEAD.first(conn, chain_key=chain)
            heads[chain] = [row[0], row[1], True] if row else [0, GENESIS, False]

    def write(self) -> None:
        """Hash and write the events recorded but not yet written; move their chains' heads."""
        pending = self._pending
        batch = pending.events[pending.written:]
        if not batch:
            return
        conn = self._connection()
        self._read_heads(conn, batch)
        heads, event_mac = pending.heads, self.keyed.event
        moved: dict[str, _Head] = {}
        for event in batch:
            head = moved[event["chain"]] = heads[event["chain"]]
            event["prev_hash"] = head[1]
            event["hash"] = head[1] = event_mac(event)
            head[0] += 1
        _INSERT.executemany(conn, batch)
        for chain, head in moved.items():
            if head[2]:
                _MOVE_HEAD.execute(conn, chain_key=chain, count=head[0], head=head[1])
            else:
                _INSERT_HEAD.execute(conn, chain_key=chain, count=head[0], head=head[1])
                head[2] = True
        pending.written = len(pending.events)

    def forget(self) -> None:
        """Drop this transaction's chain state (after commit or rollback)."""
        self._pending = _Pending([], 0, {})
        self._marks.clear()

    def mark(self, key: Hashable) -> None:
        """Remember where the trail stands as savepoint `key` begins."""
        pending = self._pending
        self._marks[key] = (len(pending.events), pending.written,
                            {chain: tuple(head) for chain, head in pending.heads.items()})

    def undo(self, key: Hashable) -> None:
        """Savepoint `key` rolled back: take back the events recorded inside it, written or not (the
        database undid the written ones, the heads' moves and the heads' locks taken inside it)."""
        if key not in self._marks:
            return
        count, written, heads = self._marks.pop(key)
        pending = self._pending
        del pending.events[count:]
        if pending.written > written:
            pending.written = written
            pending.heads = {chain: list(head) for chain, head in heads.items()}


# ---- verify: every chain recomputed in one pass over the events, in id order ----------------------

# chain -> (events, last hash, where it was anchored) as an anchor recorded it
Anchored = Mapping[str, tuple[int, str, str]]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    first_bad_event: int | None = None
    problem: str | None = None
    chains: dict[str, tuple[int, str]] | None = None  # chain -> (events, last hash), when ok
    plain: int = 0  # the global chain's events hashed without the key, as its head row says
    last_anchor_event: tuple[int, Any] | None = None  # (id, data) of the newest `audit_anchored` event
    anchor_events: dict[int, int] = field(default_factory=dict)  # anchor number -> id of the event recording it

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "events": self.events}
        if not self.ok:
            out.update(first_bad_event=self.first_bad_event, problem=self.problem)
        return out


@dataclass
class _Walk:
    """A chain as the pass has met it: its events so far, the last one's hash and id."""

    count: int = 0
    head: str = GENESIS
    last_id: int | None = None


_STREAMED = ("id", "chain", *HASHED, "hash")


def _stream(session: Session) -> Iterator[Any]:
    columns = [_EVENTS.c[name] for name in _STREAMED]
    return iter(session.execute(select(*columns).order_by(_EVENTS.c.id).execution_options(yield_per=2000)))


def _session_key(session: Session) -> Keyed:
    uow = session.info.get("cxp_uow")
    if uow is None:
        raise ValueError("verify needs the audit key: pass key=, or a unit of work's session")
    return uow.trail.keyed


def verify(session: Session, key: str | bytes | None = None, anchored: Anchored | None = None) -> VerifyResult:
    """Recompute every chain; name the first event that was changed, removed or inserted — against
    the heads in the database and, when given, the heads an anchor recorded (`anchored`)."""
    event_keyed = keyed(key) if key is not None else _session_key(session)
    anchored = anchored or {}
    heads = {row[0]: (row[1], row[2], row[3]) for row in session.execute(
        select(_CHAINS.c.chain, _CHAINS.c.events, _CHAINS.c.last_hash, _CHAINS.c.plain))}
    plain = heads[GLOBAL][2] if GLOBAL in heads else 0
    walks: dict[str, _Walk] = {}
    count = 0
    last_anchor: tuple[int, Any] | None = None
    anchor_events: dict[int, int] = {}
    for row in _stream(session):
        count += 1
        event_id, chain, event_hash = row[0], row[1], row[-1]
        values = dict(zip(HASHED, row[2:-1], strict=True))
        walk = walks.get(chain)
        if walk is None:
            walk = walks[chain] = _Walk()
        if values["prev_hash"] != walk.head:
            return VerifyResult(False, count, event_id,
                                f"the event before it on chain {chain} was removed, inserted or changed", plain=plain)
        if chain == GLOBAL and walk.count < plain:
            expected = plain_digest(values)
        else:
            values["chain"] = chain
            expected = event_keyed.event(values)
        if expected != event_hash:
            return VerifyResult(False, count, event_id, "its content was changed after it was written", plain=plain)
        walk.count += 1
        walk.head, walk.last_id = event_hash, event_id
        mark = anchored.get(chain)
        if mark is not None and mark[0] == walk.count and mark[1] != event_hash:
            return VerifyResult(False, count, event_id, f"it is not event {walk.count} of chain {chain} as "
                                f"{mark[2]} recorded it: it or one before it on that chain was changed", plain=plain)
        if values["action"] == ANCHORED and chain == GLOBAL:
            last_anchor = (event_id, values["data_after"])
            number = values["data_after"].get("n") if isinstance(values["data_after"], dict) else None
            if isinstance(number, int):
                anchor_events.setdefault(number, event_id)
    problem = _ends(walks, heads, anchored)
    if problem is not None:
        return VerifyResult(False, count, problem[0], problem[1], plain=plain)
    return VerifyResult(True, count, chains={c: (w.count, w.head) for c, w in walks.items()}, plain=plain,
                        last_anchor_event=last_anchor, anchor_events=anchor_events)


def _ends(walks: dict[str, _Walk], heads: Mapping[str, tuple[int, str, int]],
          anchored: Anchored) -> tuple[int | None, str] | None:
    """How the chains' ends disagree with their head rows or the anchored heads: (event id, problem)."""
    for chain, (events, last_hash, _) in sorted(heads.items()):
        walk = walks.get(chain, _Walk())
        if walk.count < events:
            return walk.last_id, f"events after it on chain {chain} were removed ({events - walk.count} of {events})"
        if (walk.count, walk.head) != (events, last_hash):
            return walk.last_id, f"the head of chain {chain} does not match its last event"
    for chain in sorted(set(walks) - set(heads)):
        return walks[chain].last_id, f"chain {chain} has events but no head"
    for chain, (events, _, where) in sorted(anchored.items()):
        walk = walks.get(chain, _Walk())
        if walk.count < events:
            after = f"after event {walk.last_id}" if walk.last_id is not None else "all of them"
            return walk.last_id, (f"{events - walk.count} of the {events} events of chain {chain} that {where} "
                                  f"recorded are missing ({after})")
    return None
