"""Jinja filters of the web pages: money, dates and times as a person in Brussels reads them.

    {{ claim.amount_eur | eur }}            EUR 1,100.00
    {{ task.due_at | localtime }}           Mon 7 Feb 2027, 10:00 CET   (in the user's time zone)
    {{ visit.arrival | date }}              Mon 7 Feb 2027
    {{ exchange.status | label }}           Visit planned      (reports/labels.py: codes in words)
    {{ org.sectors | labels("sector") }}    Digital, Health
    {{ org.country | subdivision(org.subdivision) }}   Wien

`install_filters(env, timezone)` registers them with the settings' time zone as the default; a page
can pass another (`{{ when | localtime(principal_tz) }}`). A naive datetime is taken as UTC, which is
how the product stores times. Empty values render as an empty string, so that a template needs no
`if` around an optional field.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from jinja2 import Environment

from reports.labels import label, labels, percent, subdivision_name, words

DEFAULT_TIMEZONE = "Europe/Brussels"


def eur(value: Decimal | str | int | float | None) -> str:
    """An amount as "EUR 1,100.00" (two decimals, half-up; a negative amount as "EUR -5.00")."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    except InvalidOperation:
        return str(value)
    return f"EUR {amount:,.2f}"


def localtime(value: dt.datetime | str | None, tz: str | None = None) -> str:
    """A moment in time zone `tz` (default the settings') as "Mon 7 Feb 2027, 10:00 CET"."""
    moment = _datetime(value)
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(tz or DEFAULT_TIMEZONE))
    return f"{_day(local)}, {local:%H:%M} {local.tzname()}"


def date(value: dt.date | dt.datetime | str | None, tz: str | None = None) -> str:
    """A day as "Mon 7 Feb 2027"; a datetime is first moved into time zone `tz`."""
    if value is None or value == "":
        return ""
    day: dt.date
    if isinstance(value, str):
        try:
            day = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
        except ValueError:
            return value
    else:
        day = value
    if isinstance(day, dt.datetime):
        day = _aware(day).astimezone(ZoneInfo(tz or DEFAULT_TIMEZONE))
    return _day(day)


def _datetime(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    return _aware(dt.datetime.fromisoformat(value) if isinstance(value, str) else value)


def _aware(moment: dt.datetime) -> dt.datetime:
    """A naive datetime is UTC, as the product stores times."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _day(value: dt.date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def install_filters(env: Environment, timezone: str = DEFAULT_TIMEZONE) -> Environment:
    """Register `eur`, `localtime`, `date`, `label`, `labels` and `subdivision` on `env`, with `timezone` as the default zone."""
    env.filters["eur"] = eur
    env.filters["localtime"] = lambda value, tz=None: localtime(value, tz or timezone)
    env.filters["date"] = lambda value, tz=None: date(value, tz or timezone)
    env.filters["label"] = label
    env.filters["percent"] = percent
    env.filters["labels"] = labels
    env.filters["words"] = words
    env.filters["subdivision"] = subdivision_name
    return env
