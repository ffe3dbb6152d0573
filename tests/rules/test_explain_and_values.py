"""Explanations, errors and value checks shared by all rules."""
from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal

import pytest

from rules.errors import RuleInputError
from rules.explain import Decision, Reason
from rules.values import normalise_country, to_money


def test_a_rule_input_error_names_its_field():
    err = RuleInputError("depart", "is before the arrival")
    assert (err.field, err.message, str(err)) == ("depart", "is before the arrival", "depart: is before the arrival")
    assert isinstance(err, ValueError)


def test_a_rule_input_error_survives_pickling():
    err = pickle.loads(pickle.dumps(RuleInputError("amount", "negative")))
    assert (err.field, err.message) == ("amount", "negative")


def test_a_decision_without_reasons_is_ok_and_serialises_to_plain_json():
    decision = Decision.of([], {"when": date(2026, 1, 2), "amount": Decimal("1.50"), "ids": frozenset({3, 1})})
    assert decision.ok and decision.codes == []
    assert decision.to_dict() == {"ok": True, "reasons": [],
                                  "inputs": {"when": "2026-01-02", "amount": "1.50", "ids": [1, 3]}}


def test_a_decision_lists_its_reason_codes_in_order():
    decision = Decision.of([Reason("A", "a."), Reason("B", "b.", {"d": date(2026, 1, 1)})], {})
    assert not decision.ok
    assert decision.codes == ["A", "B"]
    assert decision.to_dict()["reasons"][1] == {"code": "B", "message": "b.", "details": {"d": "2026-01-01"}}


@pytest.mark.parametrize("raw, code", [("EL", "GR"), ("el", "GR"), (" de ", "DE"), ("XK", "XK")])
def test_country_codes_are_normalised_with_greece_as_gr(raw, code):
    assert normalise_country("country", raw) == code


@pytest.mark.parametrize("raw", ["DEU", "D", "", "1A", None, 49])
def test_malformed_country_codes_are_refused(raw):
    with pytest.raises(RuleInputError, match="country"):
        normalise_country("country", raw)


def test_money_is_quantised_to_the_cent_and_never_a_float():
    assert str(to_money("amount", "550")) == "550.00"
    assert str(to_money("amount", Decimal("0.5"))) == "0.50"
    for bad in (550.0, True, "1e400000000000", "NaN", "Infinity"):
        with pytest.raises(RuleInputError, match="amount"):
            to_money("amount", bad)


# ---- countries are real ISO 3166-1 codes (issue 10) -------------------------------------------------
@pytest.mark.parametrize("text, code", [("de", "DE"), (" EL ", "GR"), ("XK", "XK"), ("UA", "UA"), ("CH", "CH")])
def test_real_country_codes_are_accepted_and_normalised(text, code):
    assert normalise_country("country", text) == code


@pytest.mark.parametrize("text, message", [("XX", "'XX' is not an ISO 3166-1 country code"),
                                           ("UK", "the United Kingdom is GB"), ("QQ", "not an ISO 3166-1")])
def test_two_letters_that_name_no_country_are_refused_naming_the_field(text, message):
    with pytest.raises(RuleInputError, match=message) as err:
        normalise_country("organisations.country", text)
    assert err.value.field == "organisations.country"
