"""R-BUDGET: commitments, releases and payments never exceed the call budget."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.budget import BudgetState, change_budget, check_commitment, commit, fitting, pay, release
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


def test_the_waiting_grants_that_fit_are_taken_in_order_and_one_too_large_keeps_its_place():
    state = BudgetState(Decimal("3000.00"), Decimal("1000.00"), Decimal("500.00"))   # 1,500 left
    assert fitting(state, [Decimal("1100"), Decimal("600"), Decimal("400"), Decimal("10")]) == [0, 2]
    assert fitting(state, [Decimal("1600"), Decimal("1500")]) == [1]
    assert fitting(state, []) == []


def test_a_budget_is_changed_up_or_down_but_never_below_what_is_committed_and_paid():
    state = BudgetState(Decimal("3000.00"), Decimal("1000.00"), Decimal("500.00"))
    assert change_budget(state, Decimal("1500.00")).remaining == Decimal("0.00")
    assert change_budget(state, Decimal("9000")).remaining == Decimal("7500.00")
    with pytest.raises(RuleInputError, match=r"^budget: EUR 1499.99 is below what is committed \(EUR 1000.00\)"):
        change_budget(state, Decimal("1499.99"))


# A call's life as the administration and the processes make it: the budget changed up and down,
# grants committed (or left waiting), waiting grants offered the budget in their order, commitments
# released by cancellations and paid. However the steps come, commitments and payments stay within
# the budget, and a waiting grant is committed only when it fits.
STEPS = st.lists(st.one_of(
    st.tuples(st.just("budget"), st.decimals(min_value=0, max_value=6000, places=2)),
    st.tuples(st.just("grant"), st.decimals(min_value=1, max_value=1100, places=2)),
    st.tuples(st.just("release"), st.integers(min_value=0, max_value=30)),
    st.tuples(st.just("pay"), st.integers(min_value=0, max_value=30)),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(budget=st.decimals(min_value=0, max_value=5000, places=2), steps=STEPS)
def test_no_sequence_of_budget_changes_and_commitments_leaves_more_committed_and_paid_than_the_budget(budget, steps):
    state = BudgetState(budget, Decimal(0), Decimal(0))
    committed: list[Decimal] = []
    waiting: list[Decimal] = []
    for kind, value in steps:
        if kind == "budget":
            try:
                state = change_budget(state, value)
            except RuleInputError:
                assert value < state.committed + state.paid
                continue
        elif kind == "grant":
            if check_commitment(state, value).ok:
                state = commit(state, value)
                committed.append(value)
            else:
                waiting.append(value)
        elif committed:
            amount = committed.pop(value % len(committed))
            state = release(state, amount) if kind == "release" else pay(state, amount)
        if kind in ("budget", "release"):  # budget was added or freed: the waiting grants are offered it
            taken = fitting(state, waiting)
            for index in taken:
                state = commit(state, waiting[index])
                committed.append(waiting[index])
            waiting = [w for i, w in enumerate(waiting) if i not in taken]
        assert state.committed + state.paid <= state.budget
        assert state.committed == sum(committed, Decimal(0)).quantize(Decimal("0.01"))
        assert all(w > state.remaining for w in waiting)  # nothing waits that would fit
