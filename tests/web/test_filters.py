"""The Jinja filters of the web pages (workflows/web/filters.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from jinja2 import Environment

from workflows.web.filters import date, eur, install_filters, localtime


@pytest.mark.parametrize("value, shown", [
    (Decimal("1100"), "EUR 1,100.00"), ("550.5", "EUR 550.50"), (Decimal("0.005"), "EUR 0.01"),
    (1234567, "EUR 1,234,567.00"), ("-5", "EUR -5.00"), (None, ""), ("", ""), ("n/a", "n/a"),
])
def test_eur_shows_amounts_with_the_currency_thousands_and_two_decimals(value: object, shown: str) -> None:
    assert eur(value) == shown  # type: ignore[arg-type]


def test_localtime_shows_a_utc_moment_in_brussels_winter_time() -> None:
    moment = dt.datetime(2027, 2, 8, 9, 0, tzinfo=dt.UTC)
    assert localtime(moment) == "Mon 8 Feb 2027, 10:00 CET"


def test_localtime_follows_summer_time_and_other_zones() -> None:
    moment = dt.datetime(2027, 7, 5, 9, 30, tzinfo=dt.UTC)
    assert localtime(moment, "Europe/Brussels") == "Mon 5 Jul 2027, 11:30 CEST"
    assert localtime(moment, "Europe/Lisbon") == "Mon 5 Jul 2027, 10:30 WEST"


def test_localtime_takes_a_naive_moment_or_iso_text_as_utc_and_nothing_as_empty() -> None:
    assert localtime(dt.datetime(2027, 2, 8, 9, 0)) == "Mon 8 Feb 2027, 10:00 CET"
    assert localtime("2027-02-08T09:00:00+00:00") == "Mon 8 Feb 2027, 10:00 CET"
    assert localtime(None) == ""


def test_date_shows_the_day_in_the_users_zone() -> None:
    assert date(dt.date(2027, 2, 7)) == "Sun 7 Feb 2027"
    assert date("2027-02-07") == "Sun 7 Feb 2027"
    late = dt.datetime(2027, 2, 7, 23, 30, tzinfo=dt.UTC)  # already Monday in Brussels
    assert date(late) == "Mon 8 Feb 2027"
    assert date(None) == ""


def test_installed_filters_use_the_settings_time_zone_by_default() -> None:
    env = install_filters(Environment(autoescape=True), "Europe/Helsinki")
    template = env.from_string("{{ m | localtime }} / {{ m | localtime('Europe/Brussels') }} / {{ a | eur }}")
    moment = dt.datetime(2027, 2, 8, 9, 0, tzinfo=dt.UTC)
    assert template.render(m=moment, a=Decimal("1100")) == (
        "Mon 8 Feb 2027, 11:00 EET / Mon 8 Feb 2027, 10:00 CET / EUR 1,100.00")
