"""Checks of a submitted form that need the case it belongs to and more than one field (SPEC §5, §12).

Some data can be judged only against the exchange. A form's model does what one field can with the
validation context (the attended days against the stay, the documents against the format's evidence
checklist: `tasks.forms.SubmitEvidence`); the agreed dates are checked here, after the model, against
R-DUR at the host (three working days, one month at most, the three activities of an exchange visit)
and today's date — before the task runs, so that a person gets a field error and can correct it,
never an incident that no retry can cure.

`context` is what the service layer knows of the case (missing keys skip the checks that need them):
``today`` (date), ``format``, ``host_country``, ``host_subdivision``, ``rule_set`` (RuleSet),
``arrival`` and ``departure`` (dates of the agreed stay), ``uploaded`` (the SHA-256 digests of the
files uploaded for the exchange: a closing report cites only those); for a matching round under
review ``proposal_ids``, ``application_names`` (application id → organisation name) and
``override_problems`` (a function: the reassignments → for each, why it would be refused, as
``{code, message}``).
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


@_check("submit_evidence")
def _documents_uploaded(form: Mapping[str, Any], context: Mapping[str, Any]) -> Problems:
    """Each document the closing report cites is a file uploaded for this exchange (by its hash)."""
    if "uploaded" not in context:
        return []
    uploaded = context["uploaded"]
    strays = [f"item {n} ({doc['filename']})" for n, doc in enumerate(form.get("documents", []), start=1)
              if doc["sha256"] not in uploaded]
    if not strays:
        return []
    one = len(strays) == 1
    return [{"field": "documents", "message": f"{', '.join(strays)} {'is not a file' if one else 'are not files'} "
             f"uploaded for this exchange: upload {'it' if one else 'them'}, then pick {'it' if one else 'them'}"}]


@_check("review_proposals")
def _overrides_that_pass(form: Mapping[str, Any], context: Mapping[str, Any]) -> Problems:
    """Drop only the round's proposals; each override is judged as the round would judge it, so that a
    refused one is named with its reasons before anything is done."""
    problems: Problems = []
    ids = context.get("proposal_ids")
    if ids is not None:
        strays = [str(i) for i in form.get("drop_proposals", []) if i not in ids]
        if strays:
            problems.append({"field": "drop_proposals", "message": f"{', '.join(strays)} "
                             f"{'is not a proposal' if len(strays) == 1 else 'are not proposals'} of this round"})
    judge = context.get("override_problems")
    reassign = list(form.get("reassign", []))
    if judge is None or not reassign:
        return problems
    names = context.get("application_names", {})
    for n, (item, reasons) in enumerate(zip(reassign, judge(reassign), strict=True), start=1):
        if reasons:
            visitor = names.get(item["visitor_application_id"], f"application {item['visitor_application_id']}")
            host = names.get(item["host_application_id"], f"offer {item['host_application_id']}")
            problems.append({"field": "reassign", "message": f"item {n}: {visitor} cannot go to {host}: "
                             + "; ".join(r["message"] for r in reasons)})
    return problems
