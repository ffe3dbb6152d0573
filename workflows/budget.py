"""R-BUDGET's bookkeeping: what a call has committed and paid, and a grant's commitment taken as a
reservation in a short transaction of its own (issue 21: no lock spans instances for a whole step).

The rule itself is `rules.budget.check_commitment`; this module decides which transaction checks it.
On PostgreSQL the step that commits a grant (`Programme.commit_budget`) reserves its amount in a second
connection: the call row is locked `FOR NO KEY UPDATE` there — one reservation of a call at a time —
the reservation row is inserted and that transaction commits at once, releasing the call. The step
then adopts the reservation: it deletes it in its own transaction, the one that marks the claim
committed. Every count of the budget adds the reservations to the committed claims, read in one
statement (one snapshot), so an amount counts exactly once while the step commits.

- A retried step (a person completing the task again after a failure) finds its exchange's
  reservation and reuses it with the decision taken then: it does not reserve twice.
- A grant that does not fit reserves nothing: it waits for budget (a reservation of an earlier attempt
  for another amount is given back first).
- A cancellation deletes the exchange's reservation in its transaction.
- A step killed after reserving (kill -9, a lost connection) leaves its reservation behind. The next
  reservation of the call sweeps it: a running step holds its process instance's row lock for the
  whole step, so a reservation whose instance row can be locked (`SKIP LOCKED`) belongs to no running
  step and is deleted; a retried step reserves again.

When the transaction already holds the call row (`offer_budget`, a budget change: they lock the call
and run the waiting grants' steps inside) or on SQLite (one writer at a time: a second connection would
wait for the step's own write lock), the reservation is taken in the step's transaction itself and
adopted at once — the call's lock is then the caller's, as before."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, literal, select, union_all
from sqlalchemy.orm import Session

from rules.budget import BudgetState, check_commitment
from rules.explain import Decision
from workflows.db.models import BudgetReservation, Call, Claim, ClaimStatus
from workflows.db.process_models import ProcessInstance

LOCKED_CALLS = "cxp_budget_locked_calls"  # session.info: the calls whose row this transaction holds
LOCK_TIMEOUT = "10s"  # a reservation never waits longer for the call row (a hung step would hold it)


class ReservationLost(RuntimeError):
    """The step's reservation is gone before the step committed (swept or cancelled meanwhile): the step
    fails and is retried, never committing a grant that no reservation covered."""


def budget_totals(session: Session, call_id: int) -> dict[str, Decimal]:
    """The call's amounts by R-BUDGET's buckets — `committed` (claims committed and on their way to
    payment, plus reservations), `paid`, `waiting` — read in one statement, so that a step committing
    meanwhile (its reservation deleted, its claim committed) is seen before or after, never half."""
    claims = select(Claim.status.label("bucket"), func.sum(Claim.amount).label("amount")).where(
        Claim.call_id == call_id).group_by(Claim.status)
    reserved = select(literal("reserved").label("bucket"), func.sum(BudgetReservation.amount).label("amount")).where(
        BudgetReservation.call_id == call_id)
    rows = {bucket: Decimal(amount or 0) for bucket, amount in session.execute(union_all(claims, reserved))}
    return {"committed": sum((rows.get(s, Decimal(0)) for s in (*ClaimStatus.COMMITTING, "reserved")), Decimal(0)),
            "paid": rows.get(ClaimStatus.PAID, Decimal(0)), "waiting": rows.get(ClaimStatus.WAITING_BUDGET, Decimal(0))}


def budget_state(session: Session, call: Call) -> BudgetState:
    totals = budget_totals(session, call.id)
    return BudgetState(call.budget, totals["committed"], totals["paid"])


def lock_call(session: Session, call_id: int) -> Decimal:
    """Lock the call row for R-BUDGET in this transaction (`FOR NO KEY UPDATE`: a claim's foreign key
    share-locks the same row, see `Programme.commit_budget`); reservations made in this transaction
    afterwards are made in it, not in a second connection that would wait for this one. The call's
    budget, as the lock found it (the row's newest version, also after waiting)."""
    budget = session.scalar(select(Call.budget).where(Call.id == call_id).with_for_update(key_share=True))
    if budget is None:
        raise LookupError(f"call {call_id} does not exist")
    session.info.setdefault(LOCKED_CALLS, set()).add(call_id)
    return budget


def reserve(session: Session, exchange_id: int, call_id: int, amount: Decimal, now: datetime) -> Decision:
    """R-BUDGET for the exchange's grant of `amount`: its reservation (found or taken) when it fits —
    committed in a short transaction of its own on PostgreSQL — or the decision that it waits."""
    inline = session.get_bind().dialect.name != "postgresql" or call_id in session.info.get(LOCKED_CALLS, ())
    if inline:
        budget = lock_call(session, call_id)
        found = session.get(BudgetReservation, exchange_id, populate_existing=True)
        return _reserve(session, found, budget, exchange_id, call_id, amount, now)
    with Session(bind=session.get_bind().engine, expire_on_commit=False) as own:
        # The call row is held from the lock to the commit: the lock (which reads the budget), the
        # totals, the insert. What needs no lock comes first — the reuse of this exchange's reservation
        # (only its own step, which holds the instance's row, reserves for an exchange), the sweep
        # (giving back only frees budget). The commit does not wait for the WAL flush while it holds
        # the lock: the step adopting the reservation commits after it and flushes the WAL up to its
        # own commit, so a reservation is durable whenever a grant that counted on it is; one lost in a
        # database crash belonged to a step that had not committed and is taken again on its retry.
        own.connection().exec_driver_sql(
            f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SET LOCAL synchronous_commit = off")
        found = own.get(BudgetReservation, exchange_id)
        if found is not None and found.amount == amount:
            return Decision.of([], dict(found.decision["inputs"]))
        sweep_orphans(own, call_id, keep=exchange_id)
        decision = _reserve(own, found, lock_call(own, call_id), exchange_id, call_id, amount, now)
        own.commit()
    return decision


def _reserve(session: Session, found: BudgetReservation | None, budget: Decimal, exchange_id: int, call_id: int,
             amount: Decimal, now: datetime) -> Decision:
    """Under the call row's lock: reuse the exchange's reservation `found` if it is for the same amount,
    or check R-BUDGET and reserve; a reservation for another amount is given back first."""
    if found is not None:
        if found.amount == amount:
            return Decision.of([], dict(found.decision["inputs"]))
        session.delete(found)
        session.flush()
    totals = budget_totals(session, call_id)
    decision = check_commitment(BudgetState(budget, totals["committed"], totals["paid"]), amount)
    if decision.ok:
        session.add(BudgetReservation(exchange_id=exchange_id, call_id=call_id, amount=amount,
                                      decision=decision.to_dict(), created_at=now))
        session.flush()
    return decision


def sweep_orphans(session: Session, call_id: int, keep: int | None = None) -> list[int]:
    """Delete the call's reservations that no running step holds: none of their exchange's process
    instance rows is locked (a step locks its instance's row for its whole length), so the step that
    reserved was killed or failed before committing. The exchanges whose reservation was given back."""
    others = [e for e in session.scalars(select(BudgetReservation.exchange_id).where(
        BudgetReservation.call_id == call_id)) if e != keep]
    if not others:
        return []
    of_them = select(ProcessInstance.id, ProcessInstance.subject_id).where(
        ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id.in_(others))
    every = {(i, e) for i, e in session.execute(of_them)}
    locked = {(i, e) for i, e in session.execute(of_them.with_for_update(skip_locked=True))}
    busy = {exchange for _, exchange in every - locked}  # an instance of theirs is running a step
    idle = sorted({exchange for _, exchange in locked} - busy)
    if idle:
        session.execute(delete(BudgetReservation).where(BudgetReservation.exchange_id.in_(idle)))
    return idle


def adopt(session: Session, exchange_id: int) -> None:
    """In the step's transaction: the reservation becomes the committed claim (deleted here, the claim
    marked committed by the caller, both committed together)."""
    session.flush()
    gone = session.execute(delete(BudgetReservation).where(BudgetReservation.exchange_id == exchange_id))
    if gone.rowcount != 1:  # type: ignore[attr-defined]
        raise ReservationLost(f"the budget reservation of exchange {exchange_id} was given back before its "
                              "step committed; the step is retried")


def release(session: Session, exchange_id: int) -> bool:
    """Give back the exchange's reservation (a cancellation); whether there was one."""
    gone = session.execute(delete(BudgetReservation).where(BudgetReservation.exchange_id == exchange_id))
    return bool(gone.rowcount)  # type: ignore[attr-defined]
