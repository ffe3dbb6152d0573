"""R-DUR: how long a visit may and must be, and what its agenda must hold.

- at least ``min_working_days`` counted working days (3, *programme*) [``TOO_FEW_WORKING_DAYS``];
- at most ``max_stay_months`` calendar month(s) from arrival to departure, extensions included
  [``STAY_TOO_LONG``]: the departure may fall on the same day number of the next month, clamped to
  that month's last day (31 January -> 28/29 February);
- an ``exchange_visit`` agenda holds every required activity [``MISSING_ACTIVITIES``];
- the departure is not before the arrival [``DEPART_BEFORE_ARRIVE``].
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date

from rules.errors import RuleInputError
from rules.explain import Decision, Reason
from rules.ruleset import RuleSet
from rules.values import to_count, to_date

FORMATS = frozenset({"exchange_visit", "conference_fair", "individual_exchange"})


def add_months(day: date, months: int) -> date:
    """The same day number `months` later, clamped to the end of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def latest_departure(arrive: date, rule_set: RuleSet) -> date:
    """The last departure date the rule set allows for a stay starting on `arrive`."""
    return add_months(arrive, rule_set.max_stay_months)


def check_duration(
    arrive: date,
    depart: date,
    working_days: int,
    activities: Iterable[str],
    format: str,
    rule_set: RuleSet,
) -> Decision:
    """Check a planned or finished stay against R-DUR; all failing reasons are listed."""
    arrive = to_date("arrive", arrive)
    depart = to_date("depart", depart)
    to_count("working_days", working_days)
    if format not in FORMATS:
        raise RuleInputError("format", f"{format!r} is not a format (formats: {', '.join(sorted(FORMATS))})")
    if isinstance(activities, str):
        raise RuleInputError("activities", "must be a list of activities")
    planned = frozenset(activities)
    if not all(isinstance(a, str) for a in planned):
        raise RuleInputError("activities", "must be a list of activity codes")
    latest = latest_departure(arrive, rule_set)
    inputs = {
        "arrive": arrive, "depart": depart, "working_days": working_days, "activities": planned,
        "format": format, "latest_departure": latest, "min_working_days": rule_set.min_working_days,
        "max_stay_months": rule_set.max_stay_months, "rule_set_version": rule_set.version,
    }
    reasons: list[Reason] = []
    if depart < arrive:
        reasons.append(Reason("DEPART_BEFORE_ARRIVE",
                              f"The departure ({depart}) is before the arrival ({arrive}).",
                              {"arrive": arrive, "depart": depart}))
    elif depart > latest:
        months = rule_set.max_stay_months
        reasons.append(Reason(
            "STAY_TOO_LONG",
            f"The stay from {arrive} to {depart} is longer than {months} month{'s' if months > 1 else ''}, "
            f"extensions included; the latest departure is {latest}.",
            {"arrive": arrive, "depart": depart, "latest_departure": latest, "max_stay_months": months},
        ))
    if working_days < rule_set.min_working_days:
        reasons.append(Reason(
            "TOO_FEW_WORKING_DAYS",
            f"The stay has {working_days} working day{'s' if working_days != 1 else ''}; "
            f"at least {rule_set.min_working_days} are required.",
            {"working_days": working_days, "min_working_days": rule_set.min_working_days},
        ))
    if format == "exchange_visit":
        missing = sorted(rule_set.required_activities - planned)
        if missing:
            reasons.append(Reason(
                "MISSING_ACTIVITIES",
                f"An exchange visit must include {', '.join(sorted(rule_set.required_activities))}; "
                f"missing: {', '.join(missing)}.",
                {"missing": missing, "required": sorted(rule_set.required_activities)},
            ))
    return Decision.of(reasons, inputs)
