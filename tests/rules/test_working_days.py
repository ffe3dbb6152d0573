"""R-DAYS: counted and excluded dates of a stay at the host."""
from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import working_days as wd
from rules.errors import RuleInputError
from rules.working_days import count_working_days

MON = date(2026, 3, 2)  # a Monday with no holiday around it in DE, FR or ES


def stay(days: int, start: date = MON) -> tuple[date, date]:
    return start, start + timedelta(days=days - 1)


def test_arrival_and_departure_days_are_travel_days_and_do_not_count():
    result = count_working_days("DE", *stay(5))  # Mon..Fri
    assert result.working_days == 3
    assert result.counted == (date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5))
    assert result.excluded == {date(2026, 3, 2): "travel_day", date(2026, 3, 6): "travel_day"}


def test_a_same_day_visit_is_one_travel_day_and_no_working_day():
    result = count_working_days("DE", MON, MON)
    assert result.working_days == 0
    assert result.excluded == {MON: "travel_day"}


def test_weekends_are_excluded():
    result = count_working_days("FR", date(2026, 3, 5), date(2026, 3, 10))  # Thu..Tue
    assert result.excluded[date(2026, 3, 7)] == "weekend"
    assert result.excluded[date(2026, 3, 8)] == "weekend"
    assert result.counted == (date(2026, 3, 6), date(2026, 3, 9))


def test_a_weekend_arrival_is_a_travel_day_not_a_weekend():
    result = count_working_days("DE", date(2026, 3, 1), date(2026, 3, 6))  # Sun..Fri
    assert result.excluded[date(2026, 3, 1)] == "travel_day"
    assert result.working_days == 4


def test_epiphany_is_a_holiday_for_a_host_in_bavaria_but_not_in_germany_without_subdivision():
    arrive, depart = date(2026, 1, 5), date(2026, 1, 9)  # Mon..Fri, 6 Jan is Tuesday
    bavaria = count_working_days("DE", arrive, depart, subdivision="BY")
    germany = count_working_days("DE", arrive, depart)
    assert bavaria.excluded[date(2026, 1, 6)] == "holiday:Epiphany"
    assert bavaria.working_days == 2
    assert date(2026, 1, 6) in germany.counted
    assert germany.working_days == 3


def test_a_subdivision_may_be_given_with_its_country_prefix_or_in_lower_case():
    for code in ("DE-BY", "by", "BY"):
        result = count_working_days("DE", date(2026, 1, 5), date(2026, 1, 9), subdivision=code)
        assert result.subdivision == "BY"
        assert date(2026, 1, 6) in result.excluded


def test_a_french_national_holiday_is_excluded_with_its_name():
    # 14 July 2026 is a Tuesday.
    result = count_working_days("FR", date(2026, 7, 13), date(2026, 7, 17))
    assert result.excluded[date(2026, 7, 14)].startswith("holiday:")
    assert "National Day" in result.excluded[date(2026, 7, 14)]
    assert result.working_days == 2


def test_a_spanish_national_holiday_counts_for_a_host_in_spain_and_not_for_one_in_germany():
    # 12 October 2026 (Fiesta Nacional de España) is a Monday.
    arrive, depart = date(2026, 10, 9), date(2026, 10, 16)
    spain = count_working_days("ES", arrive, depart)
    germany = count_working_days("DE", arrive, depart)
    assert spain.excluded[date(2026, 10, 12)].startswith("holiday:")
    assert date(2026, 10, 12) in germany.counted
    assert spain.working_days == germany.working_days - 1


def test_the_holiday_is_the_hosts_not_the_visitors():
    # 3 October (German Unity Day) is a Saturday in 2026: use 2025, a Friday. A host in Poland works.
    poland = count_working_days("PL", date(2025, 9, 29), date(2025, 10, 6))
    assert date(2025, 10, 3) in poland.counted


def test_greece_can_be_given_as_el():
    result = count_working_days("EL", date(2026, 3, 23), date(2026, 3, 27))
    assert result.country == "GR"
    assert result.excluded[date(2026, 3, 25)].startswith("holiday:")


def test_kosovo_has_a_holiday_calendar():
    # 17 February 2026, Independence Day, is a Tuesday.
    result = count_working_days("XK", date(2026, 2, 16), date(2026, 2, 20))
    assert result.excluded[date(2026, 2, 17)].startswith("holiday:")


def test_days_the_host_did_not_certify_are_excluded_as_not_attended():
    arrive, depart = stay(7)  # Mon..Sun
    result = count_working_days("DE", arrive, depart, attended=[date(2026, 3, 3), date(2026, 3, 5)])
    assert result.counted == (date(2026, 3, 3), date(2026, 3, 5))
    assert result.excluded[date(2026, 3, 4)] == "not_attended"
    assert result.excluded[date(2026, 3, 6)] == "not_attended"


def test_exclusion_reasons_follow_their_precedence():
    # Everything attended; the holiday, weekend and travel reasons still win over attendance.
    arrive, depart = date(2026, 1, 4), date(2026, 1, 10)  # Sun..Sat, Tue 6 Jan Epiphany in BY
    every_day = [arrive + timedelta(days=i) for i in range(7)]
    result = count_working_days("DE", arrive, depart, subdivision="BY", attended=every_day[:3])
    assert result.excluded[arrive] == "travel_day"
    assert result.excluded[depart] == "travel_day"
    assert result.excluded[date(2026, 1, 6)] == "holiday:Epiphany"
    assert result.excluded[date(2026, 1, 7)] == "not_attended"
    assert result.counted == (date(2026, 1, 5),)


def test_an_empty_attendance_certificate_counts_no_day():
    result = count_working_days("DE", *stay(5), attended=[])
    assert result.working_days == 0
    assert list(result.excluded.values()).count("not_attended") == 3


def test_an_attended_day_outside_the_stay_is_refused():
    with pytest.raises(RuleInputError) as caught:
        count_working_days("DE", *stay(5), attended=[date(2026, 3, 20)])
    assert caught.value.field == "attended"


def test_a_departure_before_the_arrival_is_refused_naming_the_departure():
    with pytest.raises(RuleInputError) as caught:
        count_working_days("DE", date(2026, 3, 5), date(2026, 3, 4))
    assert caught.value.field == "depart"
    assert str(caught.value).startswith("depart: ")


@pytest.mark.parametrize("country", ["ZZ", "QQ", "Deutschland", ""])
def test_an_unknown_country_is_refused(country):
    with pytest.raises(RuleInputError) as caught:
        count_working_days(country, *stay(5))
    assert caught.value.field == "country"


def test_an_unknown_subdivision_is_refused():
    with pytest.raises(RuleInputError) as caught:
        count_working_days("DE", *stay(5), subdivision="XX")
    assert caught.value.field == "subdivision"


def test_a_datetime_is_refused_because_the_rules_work_on_whole_days():
    from datetime import datetime

    with pytest.raises(RuleInputError, match="arrive"):
        count_working_days("DE", datetime(2026, 3, 2, 9), date(2026, 3, 6))


def test_an_eligible_country_without_a_holiday_calendar_counts_weekends_only_with_a_note(monkeypatch):
    # Older `holidays` releases lack some eligible countries; the rule must not crash for them.
    supported = dict(holidays.list_supported_countries())
    supported.pop("XK")
    monkeypatch.setattr(wd, "_supported", lambda: supported)
    result = count_working_days("XK", date(2026, 2, 16), date(2026, 2, 20), subdivision="anything")
    assert result.working_days == 3  # 17 February is not excluded without a calendar
    assert result.notes and "XK" in result.notes[0]


def test_a_non_eligible_country_without_a_calendar_is_refused(monkeypatch):
    supported = dict(holidays.list_supported_countries())
    supported.pop("US")
    monkeypatch.setattr(wd, "_supported", lambda: supported)
    with pytest.raises(RuleInputError, match="country"):
        count_working_days("US", *stay(5))


def test_the_result_serialises_with_iso_dates():
    document = count_working_days("DE", *stay(5)).to_dict()
    assert document["working_days"] == 3
    assert document["counted"] == ["2026-03-03", "2026-03-04", "2026-03-05"]
    assert document["excluded"] == {"2026-03-02": "travel_day", "2026-03-06": "travel_day"}


HOSTS = st.sampled_from([("DE", None), ("DE", "BY"), ("FR", None), ("ES", "CT"), ("GR", None),
                         ("PL", None), ("IT", None), ("XK", None)])


@settings(max_examples=150, deadline=None)
@given(host=HOSTS, arrive=st.dates(date(2024, 1, 1), date(2027, 12, 31)),
       length=st.integers(0, 40), attendance=st.none() | st.sets(st.integers(0, 40)))
def test_counted_days_are_never_a_weekend_a_travel_day_or_a_host_holiday_and_partition_the_stay(
    host, arrive, length, attendance
):
    country, subdivision = host
    depart = arrive + timedelta(days=length)
    attended = None if attendance is None else [arrive + timedelta(days=i) for i in attendance if i <= length]
    result = count_working_days(country, arrive, depart, subdivision=subdivision, attended=attended)
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=range(arrive.year, depart.year + 1))
    stay_days = [arrive + timedelta(days=i) for i in range(length + 1)]

    assert set(result.counted).isdisjoint(result.excluded)
    assert sorted([*result.counted, *result.excluded]) == stay_days
    assert result.working_days == len(result.counted)
    assert list(result.counted) == sorted(result.counted)
    for day in result.counted:
        assert day not in (arrive, depart)
        assert day.weekday() < 5
        assert day not in calendar
        assert attended is None or day in attended
    for reason in result.excluded.values():
        assert reason in ("travel_day", "weekend", "not_attended") or reason.startswith("holiday:")


# --- due dates in working days (rules.working_days.add_working_days) --------------------------------

from rules.working_days import add_working_days, is_working_day  # noqa: E402


def test_a_task_opened_before_the_may_holidays_in_poland_skips_them() -> None:
    """Friday 30 April 2027; 1 May is a Saturday and a holiday, 3 May (Constitution Day) a Monday holiday:
    three working days later is Thursday 6 May; without a calendar (weekends only), Wednesday 5 May."""
    assert add_working_days(date(2027, 4, 30), 3, "PL") == date(2027, 5, 6)
    assert add_working_days(date(2027, 4, 30), 3, None) == date(2027, 5, 5)
    assert add_working_days(date(2027, 5, 6), -3, "PL") == date(2027, 4, 30)
    assert add_working_days(date(2027, 12, 23), 2, "BE") == date(2027, 12, 27)  # Friday 24, then Monday 27
    assert add_working_days(date(2027, 4, 30), 0, "PL") == date(2027, 4, 30)


def test_a_subdivision_holiday_counts_only_in_its_subdivision() -> None:
    """6 January is a holiday in Bavaria, not in Berlin."""
    assert not is_working_day(date(2027, 1, 6), "DE", "BY")
    assert is_working_day(date(2027, 1, 6), "DE", "BE")


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2029, 12, 31)), st.integers(min_value=0, max_value=40),
       st.sampled_from(["PL", "BE", "AT", "EL", "IS", None]))
def test_the_result_is_a_working_day_exactly_n_working_days_later(start: date, n: int, country: str | None) -> None:
    due = add_working_days(start, n, country)
    between = [start + timedelta(days=k) for k in range(1, (due - start).days + 1)]
    assert sum(is_working_day(d, country) for d in between) == n
    assert n == 0 or is_working_day(due, country)
    assert add_working_days(start, n + 1, country) > due  # monotone
    assert n == 0 or add_working_days(due, -n, country) <= start


@pytest.mark.parametrize("n", [True, 1.5, "3", 10_000])
def test_a_number_of_days_that_is_no_whole_number_or_absurd_is_refused(n: object) -> None:
    with pytest.raises(RuleInputError, match="^n: "):
        add_working_days(date(2027, 1, 1), n, "BE")  # type: ignore[arg-type]
