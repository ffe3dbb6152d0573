"""When a human task is due, in working days (the application's deadline policy, handed to the engine).

A process says how many days a task has (its rule set's `task_deadlines`: officer, applicant and the
follow-up before the due date); those are **working days of the country of the partnership that owns the
task** — weekends and that country's public holidays skipped (`rules.working_days.add_working_days`) — or,
for a task of an applicant's lane that no partnership owns, of the applicant organisation's country (its
subdivision's holidays too). A task owned by neither counts weekends only. The due moment keeps the time
of day the task opened, in the programme's time zone (settings.timezone): a task opened on Friday at
09:00 with three working days in Poland, before the 1 and 3 May holidays, is due on Thursday 6 May at
09:00. A process that names its own due moment (a BPMN `due` property: the evidence window, the host's
consent before the departure) keeps it exactly.

Countries are read once per partnership or organisation and engine: a partnership's country does not
change while a programme runs."""
from __future__ import annotations

from datetime import UTC, datetime
from threading import Lock
from zoneinfo import ZoneInfo

from sqlalchemy import select

from rules.working_days import add_working_days
from workflows.db.models import Organisation, Partnership
from workflows.uow import UnitOfWork


class WorkingDayDeadlines:
    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self._places: dict[tuple[str, int], tuple[str | None, str | None]] = {}
        self._lock = Lock()

    def shift(self, uow: UnitOfWork, moment: datetime, working_days: int, partnership_id: int | None,
              organisation_id: int | None) -> datetime:
        """`moment` moved by `working_days` (negative: back) in the calendar of the task's owner."""
        country, subdivision = self._place(uow, partnership_id, organisation_id)
        local = moment.astimezone(self.zone)
        day = add_working_days(local.date(), working_days, country, subdivision)
        return datetime.combine(day, local.time(), self.zone).astimezone(UTC)

    def _place(self, uow: UnitOfWork, partnership_id: int | None,
               organisation_id: int | None) -> tuple[str | None, str | None]:
        key = ("partnership", partnership_id) if partnership_id is not None else (
            ("organisation", organisation_id) if organisation_id is not None else None)
        if key is None:
            return None, None
        with self._lock:
            known = self._places.get(key)
        if known is None:
            if key[0] == "partnership":
                row = uow.session.execute(select(Partnership.country).where(Partnership.id == key[1])).first()
                known = (row[0], None) if row else (None, None)
            else:
                found = uow.session.execute(select(Organisation.country, Organisation.subdivision)
                                            .where(Organisation.id == key[1])).first()
                known = (found[0], _subdivision_code(found[1])) if found else (None, None)
            with self._lock:
                self._places[key] = known
        return known


def _subdivision_code(value: str | None) -> str | None:
    """`BE-VLG` as the holidays library's `VLG`."""
    return value.split("-", 1)[1] if value and "-" in value else value
