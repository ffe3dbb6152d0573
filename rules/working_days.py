"""R-DAYS: the working days of a stay at the host that count for the grant.

The stay runs from the arrival day to the departure day, both included. Each of its dates is either
counted or excluded with exactly one reason, checked in this order:

1. ``travel_day`` — the arrival and the departure day (travel days do not count, *programme*);
2. ``weekend`` — Saturday and Sunday;
3. ``holiday:<name>`` — a public holiday of the **host** country, and of its subdivision when given,
   from the `holidays` library (names in English where the library has them);
4. ``not_attended`` — when the host certified the attended days, any other day.

Countries: ISO 3166-1 alpha-2, with ``EL`` accepted for Greece and ``XK`` for Kosovo. A country that
the `holidays` library does not know is refused — unless it is one of the programme's eligible
countries, in which case only weekends and travel days are excluded and the result carries a note
saying so (no crash over a missing calendar; the officer sees the note and can exclude days by
attendance). Subdivisions are ISO 3166-2 codes, with or without the country prefix (``BY``, ``DE-BY``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

from rules.errors import RuleInputError
from rules.values import normalise_country, to_date

TRAVEL_DAY = "travel_day"
WEEKEND = "weekend"
NOT_ATTENDED = "not_attended"
HOLIDAY_PREFIX = "holiday:"

# A guard against absurd input, not a programme rule (R-DUR caps a stay at one month).
MAX_STAY_DAYS = 366


@dataclass(frozen=True)
class WorkingDays:
    """Counted and excluded dates of one stay; every date of the stay is in exactly one of them."""

    working_days: int
    counted: tuple[date, ...]
    excluded: dict[date, str]
    country: str = ""
    subdivision: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "working_days": self.working_days,
            "counted": [d.isoformat() for d in self.counted],
            "excluded": {d.isoformat(): reason for d, reason in sorted(self.excluded.items())},
            "country": self.country,
            "subdivision": self.subdivision,
            "notes": list(self.notes),
        }


@lru_cache(maxsize=1)
def _supported() -> Mapping[str, list[str]]:
    return holidays.list_supported_countries()


def _known_without_calendar() -> frozenset[str]:
    """Eligible countries of any shipped rule set (those we must not refuse for a missing calendar)."""
    from rules.ruleset import DEFAULT_ELIGIBLE_COUNTRIES, SHIPPED

    return DEFAULT_ELIGIBLE_COUNTRIES.union(*(rs.eligible_countries for rs in SHIPPED.values()))


@lru_cache(maxsize=512)
def _calendar(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    """The host's public holidays of one year (cached per country, subdivision and year)."""
    probe = holidays.country_holidays(country, subdiv=subdivision, years=year, expand=False)
    language = "en_US" if "en_US" in (probe.supported_languages or ()) else None
    if language is None:
        return probe
    return holidays.country_holidays(country, subdiv=subdivision, years=year, expand=False, language=language)


def subdivisions_of(country: str) -> list[str]:
    """The subdivision codes the holidays library knows for `country` (empty: none)."""
    return list(_supported().get(country, []))


def normalise_subdivision(country: str, subdivision: str | None) -> str | None:
    """The subdivision code the holidays library knows for `country` (``DE-BY`` or ``BY`` as ``BY``), or
    `RuleInputError` listing the known ones; None stays None. `country` is already normalised."""
    return _normalise_subdivision(country, subdivision)


def _normalise_subdivision(country: str, subdivision: str | None) -> str | None:
    if subdivision is None:
        return None
    if not isinstance(subdivision, str) or not subdivision.strip():
        raise RuleInputError("subdivision", "must be a subdivision code such as 'BY' or 'DE-BY'")
    code = subdivision.strip()
    prefix, _, rest = code.partition("-")
    if rest and normalise_country("subdivision", prefix) == country:
        code = rest
    known = _supported().get(country, [])
    if code in known:
        return code
    if code.upper() in known:
        return code.upper()
    listed = ", ".join(known) if known else "none"
    raise RuleInputError("subdivision", f"{subdivision!r} is not a subdivision of {country} (known: {listed})")


def _holiday_name(country: str, subdivision: str | None, day: date) -> str | None:
    try:
        return _calendar(country, subdivision, day.year).get(day)
    except (NotImplementedError, KeyError) as err:  # pragma: no cover - checked up front
        raise RuleInputError("country", f"no holiday calendar for {country}: {err}") from None


def count_working_days(
    country: str,
    arrive: date,
    depart: date,
    subdivision: str | None = None,
    attended: Iterable[date] | None = None,
) -> WorkingDays:
    """Count the working days of a stay at a host in `country` from `arrive` to `depart` (inclusive)."""
    arrive = to_date("arrive", arrive)
    depart = to_date("depart", depart)
    if depart < arrive:
        raise RuleInputError("depart", f"departure {depart} is before arrival {arrive}")
    if (depart - arrive).days + 1 > MAX_STAY_DAYS:
        raise RuleInputError("depart", f"a stay of more than {MAX_STAY_DAYS} days is not a visit")
    code = normalise_country("country", country)
    notes: list[str] = []
    has_calendar = code in _supported()
    if has_calendar:
        subdivision = _normalise_subdivision(code, subdivision)
    elif code in _known_without_calendar():
        notes.append(f"No public-holiday calendar is available for {code}: only weekends and travel "
                     "days were excluded; check the host's holidays by hand.")
        if subdivision is not None:
            notes.append(f"Subdivision {subdivision!r} was not checked for the same reason.")
            subdivision = None
    else:
        raise RuleInputError("country", f"{code} is not a country with a known holiday calendar")
    attended_days = _attended(attended, arrive, depart)

    counted: list[date] = []
    excluded: dict[date, str] = {}
    day = arrive
    while day <= depart:
        reason = _exclusion(code if has_calendar else None, subdivision, day, arrive, depart, attended_days)
        if reason is None:
            counted.append(day)
        else:
            excluded[day] = reason
        day += timedelta(days=1)
    return WorkingDays(len(counted), tuple(counted), excluded, code, subdivision, tuple(notes))


def _exclusion(
    country: str | None,
    subdivision: str | None,
    day: date,
    arrive: date,
    depart: date,
    attended: frozenset[date] | None,
) -> str | None:
    if day in (arrive, depart):
        return TRAVEL_DAY
    if day.weekday() >= 5:
        return WEEKEND
    if country is not None:
        name = _holiday_name(country, subdivision, day)
        if name:
            return HOLIDAY_PREFIX + name
    if attended is not None and day not in attended:
        return NOT_ATTENDED
    return None


def _attended(attended: Iterable[date] | None, arrive: date, depart: date) -> frozenset[date] | None:
    if attended is None:
        return None
    if isinstance(attended, (str, bytes)):
        raise RuleInputError("attended", "must be a list of dates")
    days = frozenset(to_date("attended", d) for d in attended)
    outside = sorted(d for d in days if not arrive <= d <= depart)
    if outside:
        listed = ", ".join(d.isoformat() for d in outside)
        raise RuleInputError("attended", f"{listed} outside the stay {arrive} to {depart}")
    return days


def is_working_day(day: date, country: str | None, subdivision: str | None = None) -> bool:
    """Monday to Friday and no public holiday of `country` (of its subdivision when given). A country
    without a holiday calendar, or none, has only weekends off."""
    if day.weekday() >= 5:
        return False
    code = country.upper() if isinstance(country, str) else None
    if code == "EL":
        code = "GR"
    if not code or code not in _supported():
        return True
    return _holiday_name(code, subdivision if subdivision in _supported()[code] else None, day) is None


def add_working_days(start: date, n: int, country: str | None, subdivision: str | None = None) -> date:
    """The `n`-th working day after `start` (`start` itself not counted; negative `n`: before it). Used for
    due dates: a task due in 10 days opened on a Friday is due ten working days later, holidays of the
    partnership's country skipped (R-DEADLINES, SPEC: inbox due dates in working days)."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise RuleInputError("n", f"{n!r} is not a whole number of working days")
    if abs(n) > MAX_STAY_DAYS:
        raise RuleInputError("n", f"{n} working days is more than a year")
    step = 1 if n >= 0 else -1
    day, left = start, abs(n)
    while left:
        day += timedelta(days=step)
        if is_working_day(day, country, subdivision):
            left -= 1
    return day
