"""R-AUDIT anchors: the audit chains' heads, written outside the database.

An anchor is one line appended to a JSON-lines file (`Settings.anchor_path`, opened with O_APPEND and
fsynced, never rewritten): its number `n`, the time, why it was written, the number of events, the
global chain's events hashed without the key (`plain`), the heads of the chains that moved since the
anchor before it (`chains`: chain -> [events, last hash]), the MAC of the line before it (`prev`) and
its own MAC (HMAC-SHA256 under the audit key over the rest of the line). Each anchor is also recorded
in the database as an `audit_anchored` event, so a missing last line is noticed too, and each line's
own event is looked for on the trail, so a removed anchor event is noticed as well. Each line names the
database it belongs to (`db`: the id `cxp init` writes as the `database_identified` event), so that
verify tells another database's anchors, a database older than its anchors (a restored backup) and
anchors kept elsewhere apart from a trail that was changed (`case`).

`verify_trail` checks the chains against the database's heads and against every anchor: an anchored
event that was changed, removed, inserted or reordered, or a truncated chain, is named; so is an
anchor line that was changed, removed or reordered. A passing verification writes an anchor (the web's,
at most once an interval).
"""
from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import audit
from workflows.app import App
from workflows.db.process_models import AuditChain, AuditEvent
from workflows.uow import UnitOfWork

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_FIELDS = ("n", "at", "reason", "events", "plain", "chains", "prev")
START = "0" * 64  # the `prev` of the first anchor
IDENTIFIED = "database_identified"  # the event `cxp init` writes once, naming the database's id
INTACT, CHANGED, OTHER_DATABASE, OLDER_DATABASE, ELSEWHERE = (
    "intact", "changed", "another_database", "older_database", "anchors_elsewhere")


def database_id(session: Session) -> str | None:
    """The id `cxp init` gave this database (None for a database initialised before ids existed)."""
    data = session.scalars(select(AuditEvent.data_after).where(AuditEvent.action == IDENTIFIED)
                           .order_by(AuditEvent.id).limit(1)).first()
    value = data.get("database_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def identify_database(uow: UnitOfWork) -> str:
    """Give the database its id, once (`cxp init`), as an audit event on the global chain: an intruder
    cannot change it without the chain naming the change."""
    existing = database_id(uow.session)
    if existing is not None:
        return existing
    new = uuid.uuid4().hex
    uow.audit(audit.SYSTEM, IDENTIFIED, subject="database", after={"database_id": new})
    return new


@dataclass
class AnchorLog:
    """The anchor file as read: its good lines folded into the newest head of every chain."""

    checked: int = 0
    chains: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # chain -> (events, hash, which)
    events: int = 0
    plain: int | None = None
    macs: list[str] = field(default_factory=list)  # line n's MAC at index n - 1
    problem: str | None = None
    last_at: datetime | None = None  # when the newest good line was written
    databases: list[str | None] = field(default_factory=list)  # line n's database id at index n - 1
    times: list[str] = field(default_factory=list)  # line n's time at index n - 1

    @property
    def last_mac(self) -> str:
        return self.macs[-1] if self.macs else START


def _mac(keyed: audit.Keyed, line: dict[str, Any]) -> str:
    names = (*_FIELDS, "db") if "db" in line else _FIELDS  # lines written before ids existed have no `db`
    return keyed.mac(_CANONICAL({name: line[name] for name in names}).encode("utf-8"))


def _lines(path: Path) -> Iterator[bytes]:
    if path.exists():
        with path.open("rb") as stream:
            yield from stream


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(line, dict) or set(line) - {"db"} != {*_FIELDS, "mac"} or not isinstance(line["chains"], dict):
        return None
    return line


def read_anchors(path: Path, keyed: audit.Keyed, upto: int | None = None) -> AnchorLog:
    """Every line of the anchor file (or its first `upto`) checked (its MAC, its number, its link to the
    line before it) and folded; the first problem named. A bad line's heads are not trusted."""
    log = AnchorLog()
    for number, raw in enumerate(_lines(path), start=1):
        if upto is not None and number > upto:
            break
        line = _parse(raw)
        if line is None or _mac(keyed, line) != line["mac"]:
            log.problem = log.problem or f"anchor line {number} of {path} was changed (its MAC does not match)"
            log.macs.append("")
            log.databases.append(None)
            log.times.append("")
            continue
        if (line["n"], line["prev"]) != (number, log.last_mac):
            log.problem = log.problem or (f"anchor line {number} of {path} is anchor {line['n']}: "
                                          "anchors before it were removed or reordered")
        log.checked += 1
        log.macs.append(line["mac"])
        log.databases.append(line.get("db") if isinstance(line.get("db"), str) else None)
        log.times.append(str(line["at"]))
        log.events, log.plain = max(log.events, line["events"]), line["plain"]
        which = f"anchor {line['n']} ({line['at']})"
        log.last_at = _written_at(line["at"]) or log.last_at
        for chain, (events, head) in line["chains"].items():
            if events > log.chains.get(chain, (0, "", ""))[0]:
                log.chains[chain] = (events, head, which)
    return log


def _written_at(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _append(app: App, reason: str, chains: dict[str, tuple[int, str]], plain: int) -> int:
    """Append one anchor of `chains` (those that moved since the last anchor) and record it as an
    event; its number. Appends are serialised by a lock on the file (several processes may anchor),
    held until the event is committed, so that a verification (which reads the file under a shared
    lock) never sees a line whose event is not on the trail yet."""
    keyed = audit.keyed(app.settings.audit_key)
    path = app.settings.anchor_path
    with app.uow() as uow:
        db = database_id(uow.session)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        log = read_anchors(path, keyed)
        line: dict[str, Any] = {
            "n": len(log.macs) + 1, "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "reason": reason, "events": sum(events for events, _ in chains.values()), "plain": plain,
            "chains": {c: [e, h] for c, (e, h) in sorted(chains.items()) if e > log.chains.get(c, (0,))[0]},
            "prev": log.last_mac}
        if db is not None:
            line["db"] = db
        line["mac"] = _mac(keyed, line)
        os.write(fd, _CANONICAL(line).encode("utf-8") + b"\n")
        os.fsync(fd)
        with app.uow() as uow:
            uow.audit(audit.SYSTEM, audit.ANCHORED, subject=f"anchor:{line['n']}",
                      after={"n": line["n"], "mac": line["mac"], "reason": reason})
            uow.commit()
    finally:
        os.close(fd)  # releases the lock
    return int(line["n"])


@contextmanager
def _shared_lock(path: Path) -> Iterator[None]:
    """Hold the anchor file still (no append in the middle) while it and the database are read."""
    if not path.exists():
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def anchor(app: App, reason: str) -> int:
    """Anchor the chains' heads as the database holds them now (after a payment batch, for a report);
    the anchor's number."""
    with app.uow() as uow:
        rows = uow.session.execute(select(AuditChain.chain, AuditChain.events, AuditChain.last_hash,
                                          AuditChain.plain)).all()
    chains = {row[0]: (row[1], row[2]) for row in rows}
    plain = next((row[3] for row in rows if row[0] == audit.GLOBAL), 0)
    return _append(app, reason, chains, plain)


def _snapshot_verify(app: App, anchored: audit.Anchored) -> audit.VerifyResult:
    """`audit.verify` on one snapshot of the database (REPEATABLE READ on PostgreSQL; a SQLite read
    transaction is one), so heads and events written meanwhile by others agree."""
    with app.db.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin(), Session(bind=conn) as session:
            return audit.verify(session, app.settings.audit_key, anchored)


def _plain_problem(log: AnchorLog, result: audit.VerifyResult) -> str | None:
    """The global events checked without the key are those the anchors say (a larger count would let
    events rehashed with plain SHA-256 pass)."""
    if log.plain is not None and result.plain != log.plain:
        return (f"the number of global events hashed without the key was changed: the anchors say "
                f"{log.plain}, the database {result.plain}")
    return None


def _anchor_problem(app: App, log: AnchorLog, result: audit.VerifyResult) -> str | None:
    """What the database says of the anchors that the file does not bear out."""
    if result.events < log.events:
        return f"{log.events - result.events} of the {log.events} anchored events are missing"
    if result.last_anchor_event is not None:
        event_id, data = result.last_anchor_event
        n = data.get("n") if isinstance(data, dict) else None
        if not isinstance(n, int) or n > len(log.macs):
            return f"anchor {n} (recorded by event {event_id}) is missing from {app.settings.anchor_path}"
        if log.macs[n - 1] != data.get("mac"):
            return f"anchor line {n} of {app.settings.anchor_path} is not the anchor event {event_id} recorded"
    return None


def _own_event_problem(app: App, log: AnchorLog, result: audit.VerifyResult) -> str | None:
    """Each good anchor line's own `audit_anchored` event is on the trail (removing the newest anchor's
    event, with the chain's head moved back, would otherwise pass)."""
    for n in range(1, len(log.macs) + 1):
        if log.macs[n - 1] and n not in result.anchor_events:
            return (f"anchor {n} of {app.settings.anchor_path} has no audit_anchored event on the trail: "
                    "the event that recorded it was removed (or the server stopped, or a backup was taken, "
                    "in the moment between writing that line and committing its event)")
    return None


def _other_database(app: App, log: AnchorLog, db: str | None) -> str | None:
    others = sorted({d for d in log.databases if d is not None and d != db})
    if db is None or not others:
        return None
    return (f"{app.settings.anchor_path} holds the anchors of another database ({others[0]}), not of this one "
            f"({db}): this is no sign of tampering, but the anchors cannot vouch for this database; give each "
            "database its own files folder (CXP_FILES_DIR) or anchor file (CXP_AUDIT_ANCHOR_PATH)")


def _older_database(app: App, log: AnchorLog) -> str | None:
    """When the database, which fails the check against the anchors, is an earlier state of the anchored
    one (a restored backup): on its own its trail is intact, its newest anchor event names a line before
    the file's last, that line is the one it recorded, and it passes the check against the lines up to
    that one. Else None (the trail was changed)."""
    alone = _snapshot_verify(app, {})
    if not alone.ok or alone.last_anchor_event is None:
        return None
    _event_id, data = alone.last_anchor_event
    k = data.get("n") if isinstance(data, dict) else None
    if not isinstance(k, int) or not 0 < k < len(log.macs) or log.macs[k - 1] != data.get("mac"):
        return None
    earlier = read_anchors(app.settings.anchor_path, audit.keyed(app.settings.audit_key), upto=k)
    check = _snapshot_verify(app, earlier.chains)
    if (not check.ok or earlier.problem or _plain_problem(earlier, check)
            or _own_event_problem(app, earlier, check)):
        return None
    return (f"this database is older than its anchors: its newest anchor is anchor {k} ({log.times[k - 1]}), "
            f"but {app.settings.anchor_path} goes on to anchor {len(log.macs)} ({log.times[-1]}) — a restored "
            f"backup? Up to anchor {k} the trail is intact; what was written after it is not in this database")


def _elsewhere(app: App, log: AnchorLog, result: audit.VerifyResult) -> str | None:
    if log.macs or not result.anchor_events:
        return None
    return (f"this database recorded {len(result.anchor_events)} anchors, but {app.settings.anchor_path} holds "
            "none: its anchors are kept elsewhere (was the files folder, CXP_FILES_DIR, or "
            "CXP_AUDIT_ANCHOR_PATH changed?); point the settings at them to check the trail against them")


def verify_trail(app: App, anchor_every: timedelta | None = None) -> dict[str, Any]:
    """Verify the chains and the anchors; when all is well, write an anchor of what was verified —
    unless `anchor_every` is given and the newest anchor is younger than that (a check anyone may
    repeat, such as `GET /api/audit/verify`, then adds to the trail at most once an interval).
    `ok`, `case` (intact, changed, another_database, older_database, anchors_elsewhere), `events`,
    `first_bad_event`, `anchors_checked`, `problem` (and `anchor`, the one written)."""
    keyed = audit.keyed(app.settings.audit_key)
    with app.uow() as uow:
        db = database_id(uow.session)
    with _shared_lock(app.settings.anchor_path):  # the file and the snapshot agree: no append between
        log = read_anchors(app.settings.anchor_path, keyed)
        other = _other_database(app, log, db)
        result = _snapshot_verify(app, {} if other else log.chains)
    case, problem = CHANGED, result.problem
    if other and problem is None:
        case, problem = OTHER_DATABASE, other
    elif not other:
        elsewhere = _elsewhere(app, log, result) if result.ok else None
        problem = (_plain_problem(log, result) or result.problem or log.problem or elsewhere
                   or _anchor_problem(app, log, result) or _own_event_problem(app, log, result))
        older = _older_database(app, log) if problem is not None and not result.ok else None
        if older is not None:
            case, problem = OLDER_DATABASE, older
        elif elsewhere is not None:
            case = ELSEWHERE
    out: dict[str, Any] = {"ok": problem is None, "case": INTACT if problem is None else case,
                           "events": result.events, "first_bad_event": result.first_bad_event,
                           "anchors_checked": log.checked, "problem": problem}
    recent = (anchor_every is not None and log.last_at is not None
              and datetime.now(UTC) - log.last_at < anchor_every)
    if problem is None and result.chains is not None and not recent:
        out["anchor"] = _append(app, "verify", result.chains, result.plain)
    return out
