"""R-AUDIT anchors: the audit chains' heads, written outside the database.

An anchor is one line appended to a JSON-lines file (`Settings.anchor_path`, opened with O_APPEND and
fsynced, never rewritten): its number `n`, the time, why it was written, the number of events, the
global chain's events hashed without the key (`plain`), the heads of the chains that moved since the
anchor before it (`chains`: chain -> [events, last hash]), the MAC of the line before it (`prev`) and
its own MAC (HMAC-SHA256 under the audit key over the rest of the line). Each anchor is also recorded
in the database as an `audit_anchored` event, so a missing last line is noticed too.

`verify_trail` checks the chains against the database's heads and against every anchor: an anchored
event that was changed, removed, inserted or reordered, or a truncated chain, is named; so is an
anchor line that was changed, removed or reordered. A passing verification writes an anchor (the web's,
at most once an interval).
"""
from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import audit
from workflows.app import App
from workflows.db.process_models import AuditChain

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_FIELDS = ("n", "at", "reason", "events", "plain", "chains", "prev")
START = "0" * 64  # the `prev` of the first anchor


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

    @property
    def last_mac(self) -> str:
        return self.macs[-1] if self.macs else START


def _mac(keyed: audit.Keyed, line: dict[str, Any]) -> str:
    return keyed.mac(_CANONICAL({name: line[name] for name in _FIELDS}).encode("utf-8"))


def _lines(path: Path) -> Iterator[bytes]:
    if path.exists():
        with path.open("rb") as stream:
            yield from stream


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(line, dict) or set(line) != {*_FIELDS, "mac"} or not isinstance(line["chains"], dict):
        return None
    return line


def read_anchors(path: Path, keyed: audit.Keyed) -> AnchorLog:
    """Every line of the anchor file checked (its MAC, its number, its link to the line before it) and
    folded; the first problem named. A bad line's heads are not trusted."""
    log = AnchorLog()
    for number, raw in enumerate(_lines(path), start=1):
        line = _parse(raw)
        if line is None or _mac(keyed, line) != line["mac"]:
            log.problem = log.problem or f"anchor line {number} of {path} was changed (its MAC does not match)"
            log.macs.append("")
            continue
        if (line["n"], line["prev"]) != (number, log.last_mac):
            log.problem = log.problem or (f"anchor line {number} of {path} is anchor {line['n']}: "
                                          "anchors before it were removed or reordered")
        log.checked += 1
        log.macs.append(line["mac"])
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
    event; its number. Appends are serialised by a lock on the file (several processes may anchor)."""
    keyed = audit.keyed(app.settings.audit_key)
    path = app.settings.anchor_path
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
        line["mac"] = _mac(keyed, line)
        os.write(fd, _CANONICAL(line).encode("utf-8") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, audit.ANCHORED, subject=f"anchor:{line['n']}",
                  after={"n": line["n"], "mac": line["mac"], "reason": reason})
        uow.commit()
    return int(line["n"])


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


def verify_trail(app: App, anchor_every: timedelta | None = None) -> dict[str, Any]:
    """Verify the chains and the anchors; when all is well, write an anchor of what was verified —
    unless `anchor_every` is given and the newest anchor is younger than that (a check anyone may
    repeat, such as `GET /api/audit/verify`, then adds to the trail at most once an interval).
    `ok`, `events`, `first_bad_event`, `anchors_checked`, `problem` (and `anchor`, the one written)."""
    log = read_anchors(app.settings.anchor_path, audit.keyed(app.settings.audit_key))  # before the snapshot
    result = _snapshot_verify(app, log.chains)
    problem = _plain_problem(log, result) or result.problem or log.problem or _anchor_problem(app, log, result)
    out: dict[str, Any] = {"ok": problem is None, "events": result.events,
                           "first_bad_event": result.first_bad_event, "anchors_checked": log.checked,
                           "problem": problem}
    recent = (anchor_every is not None and log.last_at is not None
              and datetime.now(UTC) - log.last_at < anchor_every)
    if problem is None and result.chains is not None and not recent:
        out["anchor"] = _append(app, "verify", result.chains, result.plain)
    return out
