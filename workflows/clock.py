"""The injectable clock. Production uses wall-clock time; the demo and tests use a simulated clock
persisted in the database, so that `cxp clock advance` moves every later command's "now"."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from workflows.db.prepared import Prepared
from workflows.db.process_models import ClockState

if TYPE_CHECKING:
    from workflows.uow import UnitOfWork

# read at the start of every unit of work: a prepared statement, not an ORM load
_READ = Prepared(select(ClockState.__table__.c.now).where(ClockState.__table__.c.id == 1))


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DatabaseClock:
    """Simulated when a `clock_state` row exists, wall-clock otherwise.

    Read once per unit of work: every step of one transaction sees the same "now" (transaction
    time), and the clock costs one query per transaction rather than one per call."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._read: tuple[bool, datetime | None] | None = None

    def _row(self) -> ClockState | None:
        return self._uow.session.get(ClockState, 1)

    def _state(self) -> tuple[bool, datetime | None]:
        if self._read is None:
            row = _READ.first(self._uow.connection)
            self._read = (row is not None, row[0] if row is not None else None)
        return self._read

    @property
    def simulated(self) -> bool:
        return self._state()[0]

    def now(self) -> datetime:
        simulated, moment = self._state()
        if simulated:
            return moment  # type: ignore[return-value]
        if self._read is not None and self._read[1] is None:
            self._read = (False, datetime.now(UTC))
        return self._read[1]  # type: ignore[index,return-value]

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware datetime")
        row = self._row()
        if row is None:
            self._uow.session.add(ClockState(id=1, now=moment))
        else:
            if moment < row.now:
                raise ValueError("the simulated clock cannot go backwards")
            row.now = moment
        self._uow.session.flush()
        self._read = (True, moment)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("duration must not be negative")
        self.set(self.now() + delta)
        return self.now()


_DURATION = re.compile(r"^(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


def parse_duration(text: str) -> timedelta:
    """`3d`, `2w`, `1d12h`, `90m` or ISO-8601 `P3D` / `PT12H` → timedelta (ValueError otherwise)."""
    raw = text.strip()
    if raw.upper().startswith("P"):
        iso = re.fullmatch(
            r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", raw.upper()
        )
        if iso and raw.upper() not in ("P", "PT"):
            w, d, h, m, s = (int(g) if g else 0 for g in iso.groups())
            return timedelta(weeks=w, days=d, hours=h, minutes=m, seconds=s)
    else:
        match = _DURATION.match(raw.lower())
        if match and raw:
            parts = {k: int(v) for k, v in match.groupdict().items() if v}
            return timedelta(
                weeks=parts.get("w", 0), days=parts.get("d", 0),
                hours=parts.get("h", 0), minutes=parts.get("m", 0),
            )
    raise ValueError(f"'{text}' is not a duration (examples: 3d, 2w, 12h, 1d12h, P7D)")
