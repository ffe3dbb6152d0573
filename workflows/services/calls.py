"""Calls as an administrator manages them: raising a call's budget (R-BUDGET).

A grant that did not fit waits (`waiting_budget`, reason `BUDGET_EXHAUSTED`); its process retries
the commitment every seven days, so raising the budget lets it through at the next retry."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Call
from workflows.services import NotFound, PermissionDenied, ServiceError
from workflows.services.inbox import actor_of, get_user


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ServiceError(f"budget: {value!r} is not an amount in euros") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ServiceError(f"budget: {value} must be euros with at most two decimals")
    return amount.quantize(Decimal("0.01"))


def raise_budget(app: App, code: str, username: str, new_budget: object, reason: str) -> dict[str, Any]:
    """Set a call's budget to `new_budget`, higher than today's; administrators only; audited."""
    amount = _amount(new_budget)
    if not reason.strip():
        raise ServiceError("reason: raising a budget needs a reason")
    with app.uow() as uow:
        user = get_user(uow, username)
        call = uow.session.scalars(select(Call).where(Call.code == code).with_for_update()).first()
        if call is None:
            raise NotFound(f"call: no call '{code}'")
        if user.role != "administrator":
            message = f"{username} is {user.role}; only an administrator changes a call's budget"
            with app.uow() as refused:
                refused.audit(actor_of(user), "call_budget_refused", subject=f"call:{code}",
                              after={"budget": amount, "reason": message})
                refused.commit()
            raise PermissionDenied(message)
        if amount <= call.budget:
            raise ServiceError(f"budget: EUR {amount} is not more than the call's budget of EUR {call.budget}")
        before = call.budget
        call.budget = amount
        uow.audit(actor_of(user), "call_budget_raised", subject=f"call:{code}",
                  before={"budget": before}, after={"budget": amount, "reason": reason.strip()})
        uow.commit()
        return {"call": code, "budget_before": f"{before:.2f}", "budget": f"{amount:.2f}"}
