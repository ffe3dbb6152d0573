"""The injectable clock. Production uses wall-clock time; the demo and tests use a simulated clock
persisted in the database, so that `cxp clock advance` moves every later command's "now"."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sqlalchemy.orm import Session

from workflows.db.process_models import ClockState


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class DatabaseClock:
    """Simulated when a `clock_state` row exists, wall-clock otherwise."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _row(self) -> ClockState | None:
        return self._session.get(ClockState, 1)

    @property
    def simulated(self) -> bool:
        return self._row() is not None

    def now(self) -> datetime:
        row = self._row()
        return row.now if row is not None else datetime.now(timezone.utc)

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware datetime")
        row = self._row()
        if row is None:
            self._session.add(ClockState(id=1, now=moment))
        else:
            if moment < row.now:
                raise ValueError("the simulated clock cannot go backwards")
            row.now = moment
        self._session.flush()

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
