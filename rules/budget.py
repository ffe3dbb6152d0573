"""R-BUDGET: commitments and payments against a call's budget.

Approving a grant commits it; a grant that does not fit the remaining budget is not approved but
waits [``BUDGET_EXHAUSTED``]; a cancellation releases its commitment; a payment moves an amount from
committed to paid. Invariant, checked on every state: ``committed + paid <= budget``, all amounts
non-negative Decimal euros to the cent.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rules.errors import RuleInputError
from rules.explain import Decision, Reason
from rules.values import to_money


@dataclass(frozen=True)
class BudgetState:
    """A call's budget and what is committed and paid against it."""

    budget: Decimal
    committed: Decimal
    paid: Decimal

    def __post_init__(self) -> None:
        for name in ("budget", "committed", "paid"):
            object.__setattr__(self, name, to_money(name, getattr(self, name)))
        if self.committed + self.paid > self.budget:
            raise RuleInputError("committed", f"committed EUR {self.committed} plus paid EUR {self.paid} "
                                 f"exceed the budget of EUR {self.budget}")

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.committed - self.paid


def check_commitment(state: BudgetState, amount: Decimal) -> Decision:
    """Whether `amount` fits in what remains of the budget (exactly, to the cent)."""
    value = to_money("amount", amount)
    inputs = {"budget": state.budget, "committed": state.committed, "paid": state.paid,
              "remaining": state.remaining, "amount": value}
    reasons = []
    if value > state.remaining:
        reasons.append(Reason(
            "BUDGET_EXHAUSTED",
            f"EUR {value} does not fit in the remaining budget of EUR {state.remaining}; "
            "the grant waits until budget is released or added.",
            {"remaining": state.remaining, "amount": value, "shortfall": value - state.remaining},
        ))
    return Decision.of(reasons, inputs)


def commit(state: BudgetState, amount: Decimal) -> BudgetState:
    """The state after committing `amount`; refused when it does not fit."""
    decision = check_commitment(state, amount)
    if not decision.ok:
        raise RuleInputError("amount", decision.reasons[0].message)
    return BudgetState(state.budget, state.committed + to_money("amount", amount), state.paid)


def release(state: BudgetState, amount: Decimal) -> BudgetState:
    """The state after a cancellation releases a commitment of `amount`."""
    value = to_money("amount", amount)
    if value > state.committed:
        raise RuleInputError("amount", f"cannot release EUR {value}: only EUR {state.committed} is committed")
    return BudgetState(state.budget, state.committed - value, state.paid)


def pay(state: BudgetState, amount: Decimal) -> BudgetState:
    """The state after paying `amount` of what was committed."""
    value = to_money("amount", amount)
    if value > state.committed:
        raise RuleInputError("amount", f"cannot pay EUR {value}: only EUR {state.committed} is committed")
    return BudgetState(state.budget, state.committed - value, state.paid + value)


def fitting(state: BudgetState, waiting: Sequence[Decimal]) -> list[int]:
    """Which waiting grants the budget takes now, as their indexes in `waiting` (the order they
    started waiting): each one that fits in what is left, in order; one that does not fit is skipped
    and keeps its place. Committing them all keeps ``committed + paid <= budget``."""
    left = state.remaining
    chosen = []
    for index, amount in enumerate(waiting):
        value = to_money(f"waiting[{index}]", amount)
        if value <= left:
            chosen.append(index)
            left -= value
    return chosen


def change_budget(state: BudgetState, budget: Decimal) -> BudgetState:
    """The state with a new budget; refused below what is committed and paid."""
    value = to_money("budget", budget)
    if value < state.committed + state.paid:
        raise RuleInputError("budget", f"EUR {value} is below what is committed (EUR {state.committed}) and paid "
                                       f"(EUR {state.paid})")
    return BudgetState(value, state.committed, state.paid)
