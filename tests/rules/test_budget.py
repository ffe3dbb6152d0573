"""R-BUDGET: commitments, releases and payments never exceed the call budget."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.budget import BudgetState, check_commitment, commit, pay, release
from rules.errors import RuleInputError

STATE = BudgetState(budget=Decimal("10000.00"), committed=Decimal("8000.00"), paid=Decimal("900.00"))


def test_the_remaining_budget_is_budget_minus_committed_minus_paid():
    assert STATE.remaining == Decimal("1100.00")


def test_a_grant_of_exactly_the_remaining_budget_fits():
    decision = check_commitment(STATE, Decimal("1100.00"))
    assert decision.ok
    assert commit(STATE, Decimal("1100.00")).remaining == Decimal("0.00")


def test_one_cent_more_than_the_remaining_budget_waits_as_budget_exhausted():
    decision = check_commitment(STATE, Decimal("1100.01"))
    assert decision.codes == ["BUDGET_EXHAUSTED"]
    details = decision.reasons[0].details
    assert details["remaining"] == Decimal("1100.00")
    assert details["amount"] == Decimal("1100.01")
    assert details["shortfall"] == Decimal("0.01")
    assert decision.to_dict()["reasons"][0]["details"]["remaining"] == "1100.00"


def test_committing_what_does_not_fit_is_refused_and_changes_nothing():
    with pytest.raises(RuleInputError) as caught:
        commit(STATE, Decimal("1100.01"))
    assert caught.value.field == "amount"
    assert STATE.committed == Decimal("8000.00")


def test_a_cancellation_releases_its_commitment():
    after = release(commit(STATE, Decimal("550")), Decimal("550"))
    assert after == STATE


def test_a_payment_moves_the_amount_from_committed_to_paid():
    after = pay(STATE, Decimal("950"))
    assert (after.committed, after.paid, after.remaining) == (Decimal("7050.00"), Decimal("1850.00"),
                                                             Decimal("1100.00"))


@pytest.mark.parametrize("operation", [release, pay])
def test_more_than_is_committed_cannot_be_released_or_paid(operation):
    with pytest.raises(RuleInputError, match="amount"):
        operation(STATE, Decimal("8000.01"))


@pytest.mark.parametrize("amount", [Decimal("-1"), 12.5, "abc", Decimal("0.001")])
def test_a_malformed_amount_is_refused(amount):
    with pytest.raises(RuleInputError, match="amount"):
        check_commitment(STATE, amount)


def test_a_state_over_its_budget_cannot_exist():
    with pytest.raises(RuleInputError, match="committed"):
        BudgetState(Decimal("100"), Decimal("60"), Decimal("40.01"))


OPERATIONS = st.lists(st.tuples(st.sampled_from(["commit", "release", "pay"]),
                                st.decimals(min_value=0, max_value=1500, places=2)), max_size=40)


@settings(max_examples=100, deadline=None)
@given(budget=st.decimals(min_value=0, max_value=20000, places=2), operations=OPERATIONS)
def test_commitments_and_payments_never_exceed_the_budget(budget, operations):
    state = BudgetState(budget, Decimal(0), Decimal(0))
    for name, amount in operations:
        fits = check_commitment(state, amount).ok
        try:
            state = {"commit": commit, "release": release, "pay": pay}[name](state, amount)
        except RuleInputError:
            assert name != "commit" or not fits
            continue
        assert name != "commit" or fits
        assert state.committed + state.paid <= state.budget
        assert state.committed >= 0 and state.paid >= 0
