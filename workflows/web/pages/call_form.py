"""The call form of the administration pages: from a posted form to the data the use cases check, and
from a call (or the posted strings) and the use case's field errors back to what the template shows.

Events are rows `events-N-kind|title|starts_on|ends_on|place`; a row left blank is no event, and the
form offers two blank rows more than the call has (the "Add an event row" button offers one more)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflows.services import FieldError
from workflows.services.call_inputs import EVENT_KINDS, FORMATS, MAX_EVENTS

EVENT_FIELDS = ("kind", "title", "starts_on", "ends_on", "place")
SCALARS = ("code", "title", "lead_partnership", "opens_on", "closes_on", "matching_deadline", "budget",
           "rule_set_version")


def _deadline(text: str, timezone: str) -> str:
    """A `datetime-local` value ("2027-05-28T18:00") as an ISO moment in `timezone`; other text as given."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))).isoformat()


def parsed(form: Any, timezone: str, with_code: bool = True) -> dict[str, Any]:
    """The posted form as a call's data; a field left empty is left out (the check says it is required)."""
    data: dict[str, Any] = {}
    for name in SCALARS:
        if name == "code" and not with_code:
            continue
        value = str(form.get(name) or "").strip()
        if value:
            data[name] = _deadline(value, timezone) if name == "matching_deadline" else value
    data["partnerships"] = [str(p) for p in form.getlist("partnerships") if str(p) != data.get("lead_partnership")]
    data["formats"] = [str(f) for f in form.getlist("formats")]
    events = []
    for i in range(MAX_EVENTS + 5):
        row = {f: str(form.get(f"events-{i}-{f}") or "").strip() for f in EVENT_FIELDS}
        if not any(row[f] for f in ("title", "starts_on", "ends_on")):
            continue
        events.append({k: v for k, v in row.items() if v or k == "title"} | {"place": row["place"] or "online"})
    data["events"] = events
    return data


def shown(values: Mapping[str, Any], extra_rows: int = 2) -> dict[str, Any]:
    """What the form shows: every value as text, the event rows (with blank ones to fill in)."""
    out: dict[str, Any] = {k: "" if values.get(k) is None else str(values.get(k)) for k in SCALARS}
    deadline = values.get("matching_deadline")
    if isinstance(deadline, datetime):
        out["matching_deadline"] = deadline.astimezone(ZoneInfo("Europe/Brussels")).strftime("%Y-%m-%dT%H:%M")
    elif isinstance(deadline, str) and len(deadline) >= 16:
        out["matching_deadline"] = deadline[:16]
    out["partnerships"] = [str(p) for p in values.get("partnerships") or []]
    out["formats"] = [str(f) for f in values.get("formats") or []]
    rows = [{f: "" if _get(e, f) is None else str(_get(e, f)) for f in EVENT_FIELDS} for e in values.get("events") or []]
    rows += [dict.fromkeys(EVENT_FIELDS, "") for _ in range(extra_rows)]
    out["events"] = rows[:MAX_EVENTS]
    return out


def _get(event: Any, name: str) -> Any:
    return event.get(name) if isinstance(event, Mapping) else getattr(event, name, None)


def errors_by_field(fields: Iterable[FieldError], data: Mapping[str, Any]) -> dict[str, str]:
    """The use case's field errors keyed as the form names its inputs (`events-0-ends_on`). An event's
    index is its place among the rows sent, which is its row in the form shown again."""
    out: dict[str, str] = {}
    for f in fields:
        loc = [str(p) for p in f.loc if p != "body"]
        key = "-".join(loc) if loc[:1] == ["events"] else (loc[0] if loc else "")
        if loc[:1] in (["partnerships"], ["formats"]):
            key = loc[0]
        out[key] = f"{out[key]}; {f.msg}" if key in out else f.msg
    return out


OPTIONS = {"formats": FORMATS, "event_kinds": EVENT_KINDS}
