"""Checks of a submitted form that need the case it belongs to and more than one field (SPEC §5, §12).

Some data can be judged only against the exchange. A form's model does what one field can with the
validation context (the attended days against the stay, the documents against the format's evidence
checklist: `tasks.forms.SubmitEvidence`); the agreed dates are checked here, after the model, against
R-DUR at the host (three working days, one month at most, the three activities of an exchange visit)
and today's date — before the task runs, so that a person gets a field error and can correct it,
never an incident that no retry can cure.

`context` is what the service layer knows of the case (missing keys skip the checks that need them):
``today`` (date), ``format``, ``host_country``, ``host_subdivision``, ``rule_set`` (RuleSet),
``arrival`` and ``departure`` (dates of the agreed stay).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from rules.duration import check_duration
from rules.errors import RuleInputError
from rules.working_days import count_working_days

Problems = list[dict[str, str]]
_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], Problems]] = {}

# Where each reason of a rule points in its form.
_FIELDS = {"DEPART_BEFORE_ARRIVE": "departure", "STAY_TOO_LONG": "departure", "TOO_FEW_WORKING_DAYS": "departure",
           "MISSING_ACTIVITIES": "activities"}


def _check(task_id: str) -> Callable[[Callable[..., Problems]], Callable[..., Problems]]:
    def register(fn: Callable[..., Problems]) -> Callable[..., Problems]:
        _CHECKS[task_id] = fn
        return fn

    return register


def check_in_context(task_id: str, form: Mapping[str, Any], context: Mapping[str, Any]) -> Problems:
    """The field problems of a validated form (JSON-able, as `validate_form` returns it) in its case."""
    check = _CHECKS.get(task_id)
    return check(form, context) if check else []


def _problem(code: str, message: str) -> dict[str, str]:
    return {"field": _FIELDS.get(code, ""), "message": f"{message} [{code}]"}


@_check("agree_commitment")
def _agreed_stay(form: Mapping[str, Any], context: Mapping[str, Any]) -> Problems:
    arrive, depart = date.fromisoformat(form["arrival"]), date.fromisoformat(form["departure"])
    problems: Problems = []
    today = context.get("today")
    if today is not None and arrive < today:
        problems.append({"field": "arrival", "message": f"{arrive} is in the past (today is {today})"})
    if "rule_set" not in context or "host_country" not in context:
        return problems
    try:
        days = count_working_days(context["host_country"], arrive, depart, context.get("host_subdivision"))
    except RuleInputError as err:  # a stay the calendar cannot judge (over a year): the dates are wrong
        return problems + [{"field": "departure", "message": err.message}]
    kinds = [a["kind"] for a in form.get("activities", [])]
    decision = check_duration(arrive, depart, days.working_days, kinds, context.get("format", "exchange_visit"),
                              context["rule_set"])
    return problems + [_problem(r.code, r.message) for r in decision.reasons]
