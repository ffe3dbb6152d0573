"""Versioned rule sets: defaults, versions, derivation and exact round trips."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.errors import RuleInputError
from rules.grant import compute_grant
from rules.ruleset import (
    DEFAULT_ELIGIBLE_COUNTRIES,
    DEFAULT_VERSION,
    SHIPPED,
    RuleSet,
    derive_rule_set,
    get_rule_set,
    programme_problems,
    rule_set_digest,
    rule_set_from_dict,
    rule_set_to_dict,
    threshold,
)


def test_the_default_version_is_2026_1_and_ships_with_2025_1():
    assert DEFAULT_VERSION == "2026.1"
    assert get_rule_set("2026.1").version == "2026.1"
    assert get_rule_set("2025.1").version == "2025.1"


def test_an_unknown_version_is_refused_naming_the_rule_set():
    with pytest.raises(RuleInputError) as caught:
        get_rule_set("1999.9")
    assert caught.value.field == "rule_set"
    assert "1999.9" in str(caught.value)


@pytest.mark.parametrize("country", "AT BE DK FI FR IE IS LI LU NL NO SE".split())
def test_high_cost_hosts_have_the_1100_threshold(country):
    assert threshold(get_rule_set("2026.1"), country) == Decimal("1100.00")


@pytest.mark.parametrize("country", "CY DE GR EL ES IT MT PT SI".split())
def test_medium_cost_hosts_have_the_950_threshold(country):
    assert threshold(get_rule_set("2026.1"), country) == Decimal("950.00")


@pytest.mark.parametrize("country", "PL CZ HU RO BG HR EE LV LT SK AL BA ME MK RS XK MD UA AM TR".split())
def test_every_other_eligible_host_has_the_780_threshold(country):
    assert threshold(get_rule_set("2026.1"), country) == Decimal("780.00")


def test_the_default_eligible_countries_are_eu27_and_the_associated_countries():
    assert len(DEFAULT_ELIGIBLE_COUNTRIES) == 27 + 13
    assert "GR" in DEFAULT_ELIGIBLE_COUNTRIES and "EL" not in DEFAULT_ELIGIBLE_COUNTRIES
    assert {"XK", "UA", "TR", "IS"} <= DEFAULT_ELIGIBLE_COUNTRIES
    assert "GB" not in DEFAULT_ELIGIBLE_COUNTRIES and "CH" not in DEFAULT_ELIGIBLE_COUNTRIES


def test_greece_is_accepted_as_el_and_stored_as_gr():
    rs = RuleSet(version="t", eligible_countries=frozenset({"EL", "de"}), thresholds={"EL": Decimal("500")})
    assert rs.eligible_countries == frozenset({"GR", "DE"})
    assert dict(rs.thresholds) == {"GR": Decimal("500.00")}


@pytest.mark.parametrize("country", ["US", "GB", "CH", "ZZ"])
def test_the_threshold_of_an_ineligible_host_country_is_refused(country):
    with pytest.raises(RuleInputError) as caught:
        threshold(get_rule_set("2026.1"), country)
    assert caught.value.field == "host_country"


def test_a_malformed_country_code_is_refused():
    with pytest.raises(RuleInputError, match="host_country"):
        threshold(get_rule_set("2026.1"), "Germany")


def test_an_exchange_judged_by_its_calls_version_keeps_its_amount_when_the_default_changes():
    # The call was published under 2025.1; the default is now 2026.1 with a higher table.
    old_call = get_rule_set("2025.1")
    judged = compute_grant(old_call, "DE", 5, Decimal("800"))
    assert judged.amount == Decimal("900.00")
    assert judged.rule_set_version == "2025.1"
    assert compute_grant(get_rule_set(DEFAULT_VERSION), "DE", 5, Decimal("800")).amount == Decimal("950.00")
    # Re-judging from the stored version string gives the same amount again.
    again = compute_grant(get_rule_set(judged.rule_set_version), "DE", 5, Decimal("800"))
    assert again.amount == judged.amount


def test_a_call_can_derive_its_own_rule_set_with_validated_overrides():
    base = get_rule_set("2026.1")
    derived = derive_rule_set(base, "call-42", {"thresholds": {"EL": "1000"}, "min_working_days": 4,
                                                "full_rate_min_working_days": 6})
    assert derived.version == "call-42"
    assert threshold(derived, "GR") == Decimal("1000.00")
    assert threshold(derived, "FR") == Decimal("1100.00")  # thresholds merge into the base table
    assert derived.min_working_days == 4
    assert base.min_working_days == 3  # the base is unchanged


def test_an_unknown_override_is_refused():
    with pytest.raises(RuleInputError) as caught:
        derive_rule_set(get_rule_set("2026.1"), "x", {"max_grant": 5})
    assert caught.value.field == "overrides.max_grant"


@pytest.mark.parametrize("overrides, field", [
    ({"cap": "-1"}, "cap"),
    ({"cap": 1100.0}, "cap"),
    ({"cap": "10.001"}, "cap"),
    ({"min_working_days": -1}, "min_working_days"),
    ({"min_working_days": True}, "min_working_days"),
    ({"grant_model": "flat"}, "grant_model"),
    ({"max_stay_months": 0}, "max_stay_months"),
    ({"full_rate_min_working_days": 2}, "full_rate_min_working_days"),
    ({"evidence_reminder_days": 15}, "evidence_reminder_days"),
    ({"eligible_countries": "DE"}, "eligible_countries"),
    ({"thresholds": {"DE": "-5"}}, "thresholds.DE"),
    ({"version": "other"}, "overrides.version"),
])
def test_an_invalid_override_is_refused_naming_the_setting(overrides, field):
    with pytest.raises(RuleInputError) as caught:
        derive_rule_set(get_rule_set("2026.1"), "x", overrides)
    assert caught.value.field == field


@pytest.mark.parametrize("version", ["2025.1", "2026.1"])
def test_a_shipped_rule_set_round_trips_exactly_through_json(version):
    rs = get_rule_set(version)
    document = json.loads(json.dumps(rule_set_to_dict(rs)))
    back = rule_set_from_dict(document)
    assert back == rs
    assert rule_set_to_dict(back) == rule_set_to_dict(rs)


def test_a_rule_set_document_with_an_unknown_key_is_refused():
    document = rule_set_to_dict(get_rule_set("2026.1")) | {"surprise": 1}
    with pytest.raises(RuleInputError, match="surprise"):
        rule_set_from_dict(document)


def test_rule_sets_are_hashable_so_they_can_be_cached():
    assert hash(get_rule_set("2026.1")) == hash(RuleSet(version="2026.1"))


@settings(max_examples=60, deadline=None)
@given(
    cap=st.decimals(min_value=0, max_value=5000, places=2),
    high=st.decimals(min_value=0, max_value=5000, places=2),
    days=st.integers(min_value=0, max_value=10),
    km=st.decimals(min_value=0, max_value=1000, places=1),
)
def test_a_derived_rule_set_round_trips_exactly(cap, high, days, km):
    rs = derive_rule_set(get_rule_set("2026.1"), "derived",
                         {"cap": cap, "thresholds": {"AT": high}, "min_working_days": days,
                          "full_rate_min_working_days": days + 2, "full_rate_min_distance_km": km})
    document = json.loads(json.dumps(rule_set_to_dict(rs)))
    assert rule_set_from_dict(document) == rs
    assert rule_set_to_dict(rule_set_from_dict(document)) == rule_set_to_dict(rs)


# --- a new version under the programme's rules, stored once by content (workflows/services/rule_sets.py) ---

def test_the_shipped_versions_pass_the_programme_checks_and_differ_by_content():
    assert [programme_problems(SHIPPED[v]) for v in SHIPPED] == [[], []]
    assert rule_set_digest(SHIPPED["2025.1"]) != rule_set_digest(SHIPPED["2026.1"])


def test_the_digest_is_the_values_without_the_versions_name():
    same = derive_rule_set(SHIPPED["2026.1"], "2027.1", {})
    other = derive_rule_set(SHIPPED["2026.1"], "2027.1", {"thresholds": {"PL": "800.00"}})
    assert rule_set_digest(same) == rule_set_digest(SHIPPED["2026.1"]) != rule_set_digest(other)


def test_a_cap_above_the_programme_an_unpriced_country_and_inconsistent_thresholds_are_named():
    rs = derive_rule_set(SHIPPED["2026.1"], "2027.x", {
        "cap": "1200.00", "default_threshold": "0.00", "thresholds": {"AT": "1300.00", "CH": "900.00"},
        "eligible_countries": ["AT", "BE", "PL"]})
    problems = dict(programme_problems(rs))
    assert problems["cap"] == "EUR 1200.00 is above the programme's cap of EUR 1100.00 per visiting organisation"
    assert problems["thresholds.AT"] == "EUR 1300.00 is above the rule set's cap of EUR 1200.00"
    assert problems["thresholds.CH"] == "CH is priced but is not an eligible country of this rule set"
    assert problems["eligible_countries"].startswith("PL is eligible but not priced")
