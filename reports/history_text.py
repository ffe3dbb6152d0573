"""A history event as a sentence, with its reasons: what the instance page and the audit file show
instead of the event's JSON ("Eligibility checked: not eligible — the organisation is not in an
eligible country.", "Status changed from Submitted to Eligible.", "Refused: … may not …").

`describe(action, task_name, before, after)` takes an audit event's action, the name of its task (if
any) and its stored before/after data; an event it does not know reads as its action in words.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from reports.labels import label

Describer = Callable[[str, Mapping[str, Any], Mapping[str, Any]], str]


def _day(value: Any) -> str:
    """An ISO date or datetime as "Sun 7 Feb 2027" (the text itself when it is neither)."""
    try:
        moment = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def _part(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`data[key]` when it is a mapping, else an empty one."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _reasons(items: Any) -> str:
    """Reasons (texts or {code, message}) joined with semicolons."""
    texts = [str(r.get("message") or label(r.get("code"))) if isinstance(r, Mapping) else label(r)
             for r in items or []]
    return "; ".join(t for t in texts if t)


def _status(task: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    if before.get("status"):
        return f"Status changed from {label(before['status'])} to {label(after.get('status'))}."
    return f"Status set to {label(after.get('status'))}."


def _task_created(task: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    text = f"Task “{task}” opened for the {after.get('lane') or 'assigned'} lane"
    if after.get("due_at"):
        text += f", due {_day(after['due_at'])}"
    if after.get("follow_up_at"):
        text += f", follow-up {_day(after['follow_up_at'])}"
    return text + "."


def _task_completed(task: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    form = _part(after, "form")
    text = f"Task “{task}” completed"
    if form.get("decision"):
        text += f": {label(form['decision'], 'decision')}"
    elif "accept" in form:
        text += ": accepted" if form["accept"] else ": declined"
    said = form.get("comment") or form.get("reason")
    return text + (f" — “{said}”." if said else ".")


def _service_task(task: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    result = _part(after, "result")
    if "eligible" in result:
        if result["eligible"]:
            return "Eligibility checked: eligible."
        return f"Eligibility checked: not eligible — {_reasons(result.get('eligibility_reasons')) or 'no reason given'}."
    if "grant_amount" in result:
        why = _reasons(result.get("grant_reasons"))
        return f"Grant computed: EUR {result['grant_amount']}" + (f" ({why})." if why else ".")
    return f"Automatic step “{label(after.get('operation') or task)}” done."


def _match_answered(task: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    if after.get("accepted"):
        return "Match accepted by the visitor and the host."
    answers = _part(after, "answers")
    declined = [f"the {side}" + (f" (“{a.get('reason')}”)" if a.get("reason") else "")
                for side, a in answers.items() if isinstance(a, Mapping) and not a.get("accept")]
    return "Match declined by " + (" and ".join(declined) or "a party") + "."


def _commitment(task: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    return f"Visit planned from {_day(after.get('arrival'))} to {_day(after.get('departure'))}."


def _process_started(task: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    return f"Process “{label(after.get('process'))}” started on version {after.get('version')}."


def _process_completed(task: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    return f"Process ended: {label(after.get('outcome'))}."


DESCRIBERS: dict[str, Describer] = {
    "exchange_status": _status, "application_status": _status, "task_created": _task_created,
    "task_completed": _task_completed, "service_task": _service_task, "match_answered": _match_answered,
    "commitment_agreed": _commitment, "process_started": _process_started, "process_completed": _process_completed,
}


def describe(action: str, task_name: str | None, before: Any, after: Any) -> str:
    """The event as a sentence; a refusal with its reason."""
    b = before if isinstance(before, Mapping) else {}
    a = after if isinstance(after, Mapping) else {}
    task = task_name or "step"
    if action.endswith("_refused"):
        what = label(action.removesuffix("_refused"))
        return f"Refused ({what.lower()}): {a.get('reason') or 'no reason recorded'}."
    describer = DESCRIBERS.get(action)
    if describer is not None:
        return describer(task, b, a)
    return label(action) + (f": “{task_name}”." if task_name else ".")
