"""R-GRANT: the lump sum, halving, the cap, actual costs and overrides."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.errors import RuleInputError
from rules.grant import apply_override, compute_actual_costs_grant, compute_grant, great_circle_km
from rules.ruleset import DEFAULT_ELIGIBLE_COUNTRIES, derive_rule_set, get_rule_set

RS = get_rule_set("2026.1")
ACTUAL = derive_rule_set(RS, "actual", {"grant_model": "actual_costs"})


@pytest.mark.parametrize("days, amount, reasons", [
    (2, "0.00", ("BELOW_MIN_WORKING_DAYS",)),
    (3, "550.00", ("HALVED_FEW_DAYS",)),
    (4, "550.00", ("HALVED_FEW_DAYS",)),
    (5, "1100.00", ("FULL_RATE",)),
    (0, "0.00", ("BELOW_MIN_WORKING_DAYS",)),
])
def test_the_working_day_boundaries_are_exact(days, amount, reasons):
    result = compute_grant(RS, "FR", days, Decimal("800"))
    assert result.amount == Decimal(amount)
    assert result.reasons == reasons


@pytest.mark.parametrize("km, amount, reasons", [
    ("200", "950.00", ("FULL_RATE",)),
    ("199.9", "475.00", ("HALVED_SHORT_DISTANCE",)),
    ("199.99", "475.00", ("HALVED_SHORT_DISTANCE",)),
    ("200.0", "950.00", ("FULL_RATE",)),
])
def test_the_200_km_boundary_is_exact(km, amount, reasons):
    result = compute_grant(RS, "DE", 5, Decimal(km))
    assert result.amount == Decimal(amount)
    assert result.reasons == reasons


def test_a_float_distance_is_read_by_its_decimal_text():
    assert compute_grant(RS, "DE", 5, 199.9).reasons == ("HALVED_SHORT_DISTANCE",)
    assert compute_grant(RS, "DE", 5, 200).reasons == ("FULL_RATE",)


def test_few_days_and_short_distance_halve_once_and_both_reasons_are_listed():
    result = compute_grant(RS, "PL", 4, Decimal("150"))
    assert result.amount == Decimal("390.00")
    assert result.reasons == ("HALVED_FEW_DAYS", "HALVED_SHORT_DISTANCE")
    assert any("halved once" in m for m in result.messages)


def test_a_threshold_of_exactly_the_cap_is_not_reported_as_capped():
    result = compute_grant(RS, "AT", 5, Decimal("900"))
    assert result.amount == Decimal("1100.00")
    assert result.reasons == ("FULL_RATE",)


def test_a_threshold_above_the_cap_is_capped_and_says_so():
    generous = derive_rule_set(RS, "generous", {"thresholds": {"AT": "1500"}})
    result = compute_grant(generous, "AT", 5, Decimal("900"))
    assert result.amount == Decimal("1100.00")
    assert result.reasons == ("FULL_RATE", "CAPPED")
    assert result.inputs["before_cap"] == Decimal("1500.00")
    halved = compute_grant(derive_rule_set(RS, "g2", {"thresholds": {"AT": "2400"}}), "AT", 3, 900)
    assert halved.amount == Decimal("1100.00")
    assert halved.reasons == ("HALVED_FEW_DAYS", "CAPPED")


def test_a_half_cent_is_rounded_half_up():
    odd = derive_rule_set(RS, "odd", {"thresholds": {"DE": "777.77"}})
    assert compute_grant(odd, "DE", 4, 500).amount == Decimal("388.89")


def test_greece_as_el_gets_the_950_threshold():
    assert compute_grant(RS, "EL", 5, 1000).amount == Decimal("950.00")


def test_the_result_serialises_the_amount_as_a_string_with_cents():
    document = compute_grant(RS, "FR", 3, Decimal("800")).to_dict()
    assert document["amount"] == "550.00"
    assert document["rule_set_version"] == "2026.1"
    assert document["inputs"]["distance_km"] == "800"


@pytest.mark.parametrize("kwargs, field", [
    ({"working_days": -1}, "working_days"),
    ({"working_days": 3.5}, "working_days"),
    ({"distance_km": -0.1}, "distance_km"),
    ({"distance_km": float("nan")}, "distance_km"),
    ({"distance_km": "far"}, "distance_km"),
    ({"host_country": "US"}, "host_country"),
    ({"host_country": "XX"}, "host_country"),
])
def test_bad_input_is_refused_naming_the_field(kwargs, field):
    args = {"rule_set": RS, "host_country": "DE", "working_days": 5, "distance_km": Decimal("500")} | kwargs
    with pytest.raises(RuleInputError) as caught:
        compute_grant(**args)
    assert caught.value.field == field


def test_a_lump_sum_is_refused_under_an_actual_costs_rule_set():
    with pytest.raises(RuleInputError, match="rule_set"):
        compute_grant(ACTUAL, "DE", 5, 500)


def test_great_circle_distance_between_brussels_and_paris_is_about_264_km():
    km = great_circle_km(50.8503, 4.3517, 48.8566, 2.3522)
    assert Decimal("262") < km < Decimal("266")
    assert km == km.quantize(Decimal("0.1"))
    assert great_circle_km(50.0, 4.0, 50.0, 4.0) == Decimal("0.0")


def test_an_impossible_latitude_is_refused():
    with pytest.raises(RuleInputError, match="lat2"):
        great_circle_km(50.0, 4.0, 91.0, 4.0)


def test_actual_costs_are_summed_and_capped():
    under = compute_actual_costs_grant(ACTUAL, {"travel": Decimal("300.50"), "accommodation": "400"}, 3)
    assert under.amount == Decimal("700.50")
    assert under.reasons == ("ACTUAL_COSTS",)
    assert under.model == "actual_costs"
    over = compute_actual_costs_grant(ACTUAL, {"travel": 600, "accommodation": 400, "subsistence": 100}, 5)
    assert over.amount == Decimal("1100.00") and over.reasons == ("ACTUAL_COSTS",)
    above = compute_actual_costs_grant(ACTUAL, {"travel": 600, "accommodation": "400.01", "subsistence": 100}, 5)
    assert above.amount == Decimal("1100.00") and above.reasons == ("ACTUAL_COSTS", "CAPPED")


def test_actual_costs_are_zero_below_three_working_days():
    result = compute_actual_costs_grant(ACTUAL, {"travel": Decimal("300")}, 2)
    assert result.amount == Decimal("0.00")
    assert result.reasons == ("BELOW_MIN_WORKING_DAYS",)


@pytest.mark.parametrize("costs, field", [
    ({"travel": Decimal("-1")}, "costs.travel"),
    ({"travel": 10.5}, "costs.travel"),
    ({"travel": "10.005"}, "costs.travel"),
    ({"champagne": Decimal("10")}, "costs.champagne"),
])
def test_bad_actual_costs_are_refused(costs, field):
    with pytest.raises(RuleInputError) as caught:
        compute_actual_costs_grant(ACTUAL, costs, 5)
    assert caught.value.field == field


def test_an_override_with_a_reason_and_a_second_approver_is_applied_and_explained():
    result = compute_grant(RS, "DE", 4, 500)
    overridden = apply_override(result, Decimal("600"), "Host closed one day for a strike", 7, 8)
    assert overridden.amount == Decimal("600.00")
    assert overridden.reasons == ("HALVED_FEW_DAYS", "OVERRIDDEN")
    override = overridden.inputs["override"]
    assert override["computed_amount"] == Decimal("475.00")
    assert (override["proposed_by"], override["approved_by"]) == (7, 8)
    assert override["reason"] == "Host closed one day for a strike"
    assert result.amount == Decimal("475.00")  # the original result is untouched


def test_an_override_of_an_override_keeps_the_computed_amount():
    result = compute_grant(RS, "DE", 4, 500)
    twice = apply_override(apply_override(result, 600, "first", 1, 2), 700, "second", 3, 4)
    assert twice.inputs["override"]["computed_amount"] == Decimal("475.00")
    assert twice.inputs["override"]["previous_amount"] == Decimal("600.00")
    assert twice.reasons.count("OVERRIDDEN") == 1


@pytest.mark.parametrize("amount, reason, proposer, approver, field", [
    (Decimal("600"), "", 1, 2, "reason"),
    (Decimal("600"), "   ", 1, 2, "reason"),
    (Decimal("600"), "ok", 1, None, "approved_by"),
    (Decimal("600"), "ok", 1, 1, "approved_by"),
    (Decimal("-1"), "ok", 1, 2, "amount"),
    (Decimal("1100.01"), "ok", 1, 2, "amount"),
])
def test_an_override_is_refused_without_reason_second_approver_or_within_bounds(
    amount, reason, proposer, approver, field
):
    with pytest.raises(RuleInputError) as caught:
        apply_override(compute_grant(RS, "DE", 4, 500), amount, reason, proposer, approver)
    assert caught.value.field == field


def test_an_override_of_exactly_the_cap_is_allowed():
    assert apply_override(compute_grant(RS, "DE", 4, 500), Decimal("1100"), "ok", 1, 2).amount == Decimal("1100")


COUNTRIES = st.sampled_from(sorted(DEFAULT_ELIGIBLE_COUNTRIES | {"EL"}))
DAYS = st.integers(min_value=0, max_value=30)
KM = st.decimals(min_value=0, max_value=5000, places=1)
RULE_SETS = st.sampled_from([get_rule_set("2025.1"), RS,
                             derive_rule_set(RS, "steep", {"thresholds": {"DE": "3000.01"}, "cap": "999.99"})])


@settings(max_examples=200, deadline=None)
@given(rs=RULE_SETS, country=COUNTRIES, days=DAYS, km=KM)
def test_the_grant_is_never_negative_never_above_the_cap_and_always_in_cents(rs, country, days, km):
    result = compute_grant(rs, country, days, km)
    assert Decimal("0") <= result.amount <= rs.cap
    assert result.amount == result.amount.quantize(Decimal("0.01"))
    assert ("CAPPED" in result.reasons) == (result.inputs.get("before_cap", Decimal(0)) > rs.cap)


@settings(max_examples=200, deadline=None)
@given(rs=RULE_SETS, country=COUNTRIES, days=DAYS, km=KM)
def test_zero_and_halving_apply_exactly_at_their_thresholds(rs, country, days, km):
    result = compute_grant(rs, country, days, km)
    base = result.inputs["threshold"]
    if days < 3:
        assert result.amount == 0 and result.reasons == ("BELOW_MIN_WORKING_DAYS",)
        return
    halved = days < 5 or km < 200
    expected = (base / 2).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP") if halved else base
    assert result.amount == min(expected, rs.cap)
    assert ("HALVED_FEW_DAYS" in result.reasons) == (days < 5)
    assert ("HALVED_SHORT_DISTANCE" in result.reasons) == (km < 200)
    assert ("FULL_RATE" in result.reasons) == (not halved)


@settings(max_examples=100, deadline=None)
@given(costs=st.dictionaries(st.sampled_from(["travel", "accommodation", "subsistence"]),
                             st.decimals(min_value=0, max_value=2000, places=2)),
       days=DAYS)
def test_an_actual_costs_grant_is_never_negative_nor_above_the_cap(costs, days):
    result = compute_actual_costs_grant(ACTUAL, costs, days)
    assert Decimal("0") <= result.amount <= ACTUAL.cap
    assert result.amount == (0 if days < 3 else min(sum(costs.values(), Decimal(0)), ACTUAL.cap))
