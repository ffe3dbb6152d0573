"""Calls as an administrator manages them: raising a call's budget (R-BUDGET).

A grant that did not fit waits (`waiting_budget`, reason `BUDGET_EXHAUSTED`); its process retries
the commitment every seven days, so raising the budget lets it through at the next retry."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Call
from workflows.services import Invalid, NotFound, access
from workflows.services.access import Principal
from workflows.services.outputs import BudgetOut


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid.field("budget", f"{value!r} is not an amount in euros") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise Invalid.field("budget", f"{value} must be euros with at most two decimals")
    return amount.quantize(Decimal("0.01"))


def raise_budget(app: App, code: str, principal: Principal, new_budget: object, reason: str) -> BudgetOut:
    """Set a call's budget to `new_budget`, higher than today's; administrators only; audited."""
    amount = _amount(new_budget)
    if not reason.strip():
        raise Invalid.field("reason", "raising a budget needs a reason")
    with app.uow() as uow:
        call = uow.session.scalars(select(Call).where(Call.code == code).with_for_update()).first()
        if call is None:
            raise NotFound(f"call: no call '{code}'")
        if principal.role != "administrator":
            access.refuse(app, uow, principal, f"{principal.username} is {principal.role}; only an administrator "
                          "changes a call's budget", "call_budget_refused", subject=f"call:{code}",
                          after={"budget": amount})
        if amount <= call.budget:
            raise Invalid.field("budget", f"EUR {amount} is not more than the call's budget of EUR {call.budget}")
        before = call.budget
        call.budget = amount
        uow.audit(principal.actor, "call_budget_raised", subject=f"call:{code}",
                  before={"budget": before}, after={"budget": amount, "reason": reason.strip()})
        uow.commit()
        return BudgetOut(call=code, budget_before=before.quantize(Decimal("0.01")), budget=amount)
