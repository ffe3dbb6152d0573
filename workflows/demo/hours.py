"""When the demo's people act: on weekdays between 09:00 and 17:30 Europe/Brussels, some working days
after a task reached them (officers, finance and the administrator 0-5, applicants 0-3), drawn from
the seed and the task, so that a resumed demo draws the same moments."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from workflows.demo.data import BRUSSELS

# The moments of a working day at which the simulated clock stops and people act.
SLOTS = (time(9, 0), time(10, 30), time(12, 0), time(14, 0), time(15, 30), time(17, 30))
OPENING, CLOSING = SLOTS[0], SLOTS[-1]
STAFF_DELAY, APPLICANT_DELAY = 5, 3


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def next_stop(now: datetime) -> datetime:
    """The next moment after `now` at which the clock stops: a slot of this or the next working day."""
    local = now.astimezone(BRUSSELS)
    if is_working_day(local.date()):
        for slot in SLOTS:
            moment = datetime.combine(local.date(), slot, BRUSSELS)
            if moment > local:
                return moment
    return datetime.combine(next_working_day(local.date()), OPENING, BRUSSELS)


def act_at(seed: int, task_id: int, role: str, created: datetime) -> datetime:
    """The moment the person of `role` completes the task created at `created`."""
    rng = random.Random(f"{seed}:task:{task_id}")
    delay = rng.randint(0, APPLICANT_DELAY if role == "applicant" else STAFF_DELAY)
    local = created.astimezone(BRUSSELS)
    day = local.date() if is_working_day(local.date()) else next_working_day(local.date())
    for _ in range(delay):
        day = next_working_day(day)
    moment = datetime.combine(day, rng.choice(SLOTS), BRUSSELS)
    return moment if moment >= local else next_stop(local)
