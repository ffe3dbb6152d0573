"""A call's budget (R-BUDGET, SPEC §14): raised or lowered by an administrator with a reason, never
below what is committed and paid; the grants waiting for budget are then approved in their order as
soon as they fit, in the same transaction.

A grant that did not fit waits (`waiting_budget`, reason `BUDGET_EXHAUSTED`) on the exchange
process's `budget_available` message. `offer_budget` takes the call's waiting grants in the order
they started waiting (their claim's creation, then id) and sends the message to each one that fits
in what is left, skipping one that does not (it keeps its place for the next change); each then runs
its own `commit_budget` step through the engine, under the lock this transaction holds on the call
row (its reservation taken in this transaction, `workflows.budget`), and tells its applicant and officers (tasks/exchange_services.py). A commitment released by a
cancellation offers the budget the same way (workflows/services/exchanges.py)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from workflows.app import App
from workflows.db.models import Call, Claim, ClaimStatus, Exchange
from workflows.services import Conflict, Invalid, NotFound, access
from workflows.services.access import Principal
from workflows.services.admin_outputs import BudgetChangeOut, BudgetOut
from workflows.services.call_inputs import budget_amount, check_reason
from workflows.uow import UnitOfWork

CENT = Decimal("0.01")
F = TypeVar("F", bound=Callable[..., Any])


def lost_race_is_conflict(fn: F) -> F:
    """A step of a process the use case advances that someone else advanced meanwhile (its instance's
    optimistic lock) is a `Conflict`: nothing was written, the person may look again and retry."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from workflows.engine.runner import TaskNoLongerOpen

        try:
            return fn(*args, **kwargs)
        except (TaskNoLongerOpen, StaleDataError) as err:
            raise Conflict("a process this change moves on was changed by someone else meanwhile; nothing was "
                           "written, look again and retry") from err
    return wrapper  # type: ignore[return-value]
BUDGET_AVAILABLE = "budget_available"  # the exchange process's message (bpmn/exchange.bpmn)


def budget_of(uow: UnitOfWork, call: Call) -> BudgetOut:
    """What the call's budget holds now: committed (the reservations of grants being committed
    included, `workflows.budget`), paid, waiting and left."""
    from workflows.budget import budget_totals

    totals = budget_totals(uow.session, call.id)
    waiting_count = uow.session.scalar(select(func.count(Claim.id)).where(
        Claim.call_id == call.id, Claim.status == ClaimStatus.WAITING_BUDGET)) or 0
    committed, paid = totals["committed"].quantize(CENT), totals["paid"].quantize(CENT)
    budget = call.budget.quantize(CENT)
    return BudgetOut(budget=budget, committed=committed, paid=paid, waiting=totals["waiting"].quantize(CENT),
                     waiting_grants=int(waiting_count), left=budget - committed - paid)


def waiting_grants(uow: UnitOfWork, call_id: int) -> list[tuple[Claim, str]]:
    """The call's grants waiting for budget, in the order they started waiting, with their exchange."""
    return [(claim, ref) for claim, ref in uow.session.execute(
        select(Claim, Exchange.ref).join(Exchange, Exchange.id == Claim.exchange_id).where(
            Claim.call_id == call_id, Claim.status == ClaimStatus.WAITING_BUDGET)
        .order_by(Claim.created_at, Claim.id))]


def offer_budget(app: App, uow: UnitOfWork, call: Call) -> list[str]:
    """Send `budget_available` to each waiting grant that fits what is left (`rules.budget.fitting`),
    in order, in this transaction; the references of the grants committed by it."""
    from rules.budget import BudgetState, fitting
    from workflows.budget import lock_call
    from workflows.services.lifecycle import deliver, instance_for

    # one offer at a time, and no reservation meanwhile (`workflows.budget`): the grants' steps run in
    # this transaction and reserve in it, under this lock
    lock_call(uow.session, call.id)
    now = budget_of(uow, call)
    waiting = waiting_grants(uow, call.id)
    chosen = fitting(BudgetState(now.budget, now.committed, now.paid), [claim.amount for claim, _ in waiting])
    committed = []
    for claim, ref in (waiting[i] for i in chosen):
        try:
            instance = instance_for(uow, "exchange", claim.exchange_id)
        except NotFound:
            continue  # a claim without a process (bulk-loaded data): nothing to tell
        if BUDGET_AVAILABLE not in (instance.waiting_messages or []):
            continue  # an instance of an earlier version retries on its own timer
        deliver(app, uow, instance, BUDGET_AVAILABLE, {"call_id": call.id, "budget": f"{call.budget:.2f}"})
        if claim.status != ClaimStatus.WAITING_BUDGET:
            committed.append(ref)
    return committed


@lost_race_is_conflict
def change_budget(app: App, code: str, principal: Principal, new_budget: object, reason: str | None) -> BudgetChangeOut:
    """Set a call's budget (higher or lower) with a reason; administrators only; never below what is
    committed and paid. Audited with its reason; the waiting grants that now fit are approved."""
    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, f"change the budget of call {code}",
                                       subject=f"call:{code}"[:60], after={"budget": str(new_budget)[:40]})
        amount = budget_amount(new_budget)
        text = check_reason(reason, "changing a call's budget")
        call = uow.session.scalars(select(Call).where(Call.code == code).with_for_update()).first()
        if call is None:
            raise NotFound(f"call: no call '{code}'")
        before = budget_of(uow, call)
        if amount == before.budget:
            raise Invalid.field("budget", f"the budget of {code} is EUR {before.budget} already")
        floor = before.committed + before.paid
        if amount < floor:
            raise Invalid.field("budget", f"EUR {amount} is below what is committed (EUR {before.committed}) and "
                                          f"paid (EUR {before.paid}): the budget must be at least EUR {floor}")
        call.budget = amount
        uow.audit(principal.actor, "call_budget_raised" if amount > before.budget else "call_budget_lowered",
                  subject=f"call:{code}", before={"budget": before.budget},
                  after={"budget": amount, "reason": text, "committed": before.committed, "paid": before.paid})
        approved = offer_budget(app, uow, call)
        after = budget_of(uow, call)
        uow.commit()
        return BudgetChangeOut(call=code, budget_before=before.budget, budget=amount, reason=text,
                               approved=approved, after=after)



def release_orphaned_reservations(app: App) -> int:
    """The timers job: give back the budget reservations no running step holds — their step was killed
    or failed after reserving, and no retry or later reservation of the call has taken them over
    (`workflows.budget.sweep_orphans`) — and offer what they held to the call's waiting grants, in
    their order. How many were given back."""
    from workflows.budget import lock_call, sweep_orphans
    from workflows.db.models import BudgetReservation

    with app.uow() as uow:
        calls = list(uow.session.scalars(select(BudgetReservation.call_id).distinct().order_by(BudgetReservation.call_id)))
    released = 0
    for call_id in calls:
        with app.uow() as uow:
            lock_call(uow.session, call_id)
            swept = sweep_orphans(uow.session, call_id)
            if swept:
                offer_budget(app, uow, uow.session.get_one(Call, call_id))
            uow.commit()
        released += len(swept)
    return released
