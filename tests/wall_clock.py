"""A wall clock the test moves by hand, for `App.wall_clock` (account protection: sign-in throttles
and locks, web sessions, API tokens): no sleeps, and far from the programme's simulated clock."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

WALL_START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # a year before the programme's START (2027)


class WallClock:
    """`app.wall_clock = WallClock()`; `clock.advance(minutes=15)`."""

    def __init__(self, start: datetime = WALL_START) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        self.moment += (delta or timedelta()) + timedelta(**units)
        return self.moment
