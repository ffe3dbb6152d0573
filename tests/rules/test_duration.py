"""R-DUR: at least three working days, at most one month, the three activities."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.duration import add_months, check_duration
from rules.errors import RuleInputError
from rules.ruleset import derive_rule_set, get_rule_set

RS = get_rule_set("2026.1")
ALL = ["joint_learning_event", "matchmaking", "study_visit"]


def test_a_five_day_visit_with_the_three_activities_passes():
    decision = check_duration(date(2026, 3, 2), date(2026, 3, 6), 3, ALL, "exchange_visit", RS)
    assert decision.ok and decision.codes == []
    assert decision.inputs["latest_departure"] == date(2026, 4, 2)


@pytest.mark.parametrize("days, ok", [(2, False), (3, True), (4, True), (5, True)])
def test_the_minimum_is_exactly_three_working_days(days, ok):
    decision = check_duration(date(2026, 3, 2), date(2026, 3, 9), days, ALL, "exchange_visit", RS)
    assert decision.ok is ok
    assert ("TOO_FEW_WORKING_DAYS" in decision.codes) is not ok


def test_a_stay_of_exactly_one_month_is_allowed_and_one_day_more_is_too_long():
    allowed = check_duration(date(2026, 3, 10), date(2026, 4, 10), 20, ALL, "exchange_visit", RS)
    too_long = check_duration(date(2026, 3, 10), date(2026, 4, 11), 20, ALL, "exchange_visit", RS)
    assert allowed.ok
    assert too_long.codes == ["STAY_TOO_LONG"]
    assert too_long.reasons[0].details["latest_departure"] == date(2026, 4, 10)


def test_a_stay_from_31_january_may_last_until_the_end_of_february():
    assert check_duration(date(2026, 1, 31), date(2026, 2, 28), 19, ALL, "exchange_visit", RS).ok
    assert check_duration(date(2026, 1, 31), date(2026, 3, 1), 19, ALL, "exchange_visit", RS).codes == [
        "STAY_TOO_LONG"]


@pytest.mark.parametrize("start, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 5, 31), 2, date(2026, 7, 31)),
])
def test_months_are_added_with_clamping_to_the_end_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


def test_an_extension_counts_in_the_one_month_limit_under_a_derived_two_month_rule():
    two_months = derive_rule_set(RS, "long", {"max_stay_months": 2})
    assert check_duration(date(2026, 3, 10), date(2026, 5, 10), 40, ALL, "exchange_visit", two_months).ok


def test_an_exchange_visit_without_matchmaking_names_the_missing_activity():
    decision = check_duration(date(2026, 3, 2), date(2026, 3, 6), 3,
                              ["joint_learning_event", "study_visit"], "exchange_visit", RS)
    assert decision.codes == ["MISSING_ACTIVITIES"]
    assert decision.reasons[0].details["missing"] == ["matchmaking"]


def test_other_formats_do_not_need_the_three_activities():
    decision = check_duration(date(2026, 3, 2), date(2026, 3, 6), 3, [], "conference_fair", RS)
    assert decision.ok


def test_a_departure_before_the_arrival_is_reported():
    decision = check_duration(date(2026, 3, 6), date(2026, 3, 2), 0, ALL, "exchange_visit", RS)
    assert decision.codes == ["DEPART_BEFORE_ARRIVE", "TOO_FEW_WORKING_DAYS"]


def test_all_failing_reasons_are_listed_together():
    decision = check_duration(date(2026, 3, 1), date(2026, 5, 1), 1, [], "exchange_visit", RS)
    assert decision.codes == ["STAY_TOO_LONG", "TOO_FEW_WORKING_DAYS", "MISSING_ACTIVITIES"]
    assert all(reason.message.endswith(".") for reason in decision.reasons)


@pytest.mark.parametrize("kwargs, field", [
    ({"working_days": -1}, "working_days"),
    ({"format": "holiday"}, "format"),
    ({"activities": "matchmaking"}, "activities"),
])
def test_bad_input_is_refused_naming_the_field(kwargs, field):
    args = {"arrive": date(2026, 3, 2), "depart": date(2026, 3, 6), "working_days": 3,
            "activities": ALL, "format": "exchange_visit", "rule_set": RS} | kwargs
    with pytest.raises(RuleInputError) as caught:
        check_duration(**args)
    assert caught.value.field == field


@settings(max_examples=150, deadline=None)
@given(arrive=st.dates(date(2000, 1, 1), date(2099, 11, 30)))
def test_the_one_month_limit_is_exact_for_every_arrival_date(arrive):
    latest = add_months(arrive, 1)
    assert latest > arrive and (latest - arrive).days <= 31
    assert latest.day == arrive.day or latest.day < arrive.day and (latest + timedelta(days=1)).day == 1
    assert check_duration(arrive, latest, 3, ALL, "exchange_visit", RS).ok
    longer = check_duration(arrive, latest + timedelta(days=1), 3, ALL, "exchange_visit", RS)
    assert longer.codes == ["STAY_TOO_LONG"]
