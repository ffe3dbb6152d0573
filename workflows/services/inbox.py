"""Human tasks: the inbox, claim/unclaim/reassign, and completion with the permission checks of
SPEC §5 and R-4EYES. A refusal is audited (and committed) even though nothing else changes.

A claim, release or completion that loses its task to someone else — the task is no longer open when
read, its row was closed or re-assigned by a concurrent transaction, the instance was saved meanwhile
(the optimistic lock), a unique row was written twice — raises `Conflict` with one message, writes
nothing and is not audited as a refusal. On SQLite these use cases take the write lock first (they
wait for each other, then read what the winner wrote); on PostgreSQL the loser's conditional UPDATE
waits for the winner's row lock and then changes nothing."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, NamedTuple, TypeVar

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from rules.four_eyes import ActionContext, check_action
from workflows.app import App
from workflows.audit import Actor
from workflows.db.models import Claim, ConflictDeclaration, Exchange, User
from workflows.db.prepared import Prepared
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.services import NotFound, PermissionDenied, ServiceError, task_conflict
from workflows.uow import UnitOfWork

T = TypeVar("T")

FOUR_EYES_ACTIONS = {"validate_evidence": "validate_evidence", "approve_payment": "approve_payment",
                     "verify_bank_details": "verify_bank_details"}


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.role)


def get_user(uow: UnitOfWork, username: str) -> User:
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotFound(f"user: no active user '{username}'")
    return user


def get_task(uow: UnitOfWork, task_id: int) -> HumanTask:
    task = uow.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task


class InboxTask(NamedTuple):
    """One line of an inbox: the human-task row as read, not an ORM object (listing a page needs no
    identity map, and building fifty ORM objects cost more than the query itself)."""

    id: int
    instance_id: int
    task_guid: str
    task_spec: str
    name: str
    lane: str
    role: str
    partnership_id: int | None
    subject_ref: str | None
    organisation_id: int | None
    assignee_id: int | None
    due_at: datetime | None
    follow_up_at: datetime | None
    status: str
    created_at: datetime


_HT = HumanTask.__table__
_USERS = User.__table__
_VIEWER = Prepared(select(_USERS.c.id, _USERS.c.role, _USERS.c.partnership_id, _USERS.c.organisation_id,
                          _USERS.c.active).where(_USERS.c.username == bindparam("username")))


@dataclass(frozen=True)
class Viewer:
    """Who looks at an inbox: what its filter needs of the user."""

    id: int
    role: str
    partnership_id: int | None
    organisation_id: int | None


def get_viewer(uow: UnitOfWork, username: str) -> Viewer:
    row = _VIEWER.first(uow.connection, username=username)
    if row is None or not row[4]:
        raise NotFound(f"user: no active user '{username}'")
    return Viewer(*row[:4])


def inbox_statement(viewer: Viewer | User | None = None, role: str | None = None,
                    status: str = "open") -> tuple[Prepared, dict[str, Any]]:
    """The inbox of `viewer` (everyone's when None), narrowed to `role`: soonest due first, no due date
    last, then by id (the order of ix_human_tasks_inbox). The statement, prepared once per shape of
    filter, and its parameters (`limit` and `offset` still to add)."""
    params: dict[str, Any] = {"status": status}
    shape: list[str] = []
    if viewer is not None:
        if viewer.role == "applicant":
            shape.append("organisation")
            params.update(own_role="applicant", organisation_id=viewer.organisation_id)
        elif viewer.role != "administrator" or role is None:
            shape.append("own_role")
            params["own_role"] = viewer.role
            if viewer.partnership_id is not None and viewer.role in ("officer", "finance"):
                shape.append("partnership")
                params["partnership_id"] = viewer.partnership_id
        shape.append("assignee")
        params["user_id"] = viewer.id
    if role is not None:
        shape.append("role")
        params["role"] = role
    return _inbox_prepared(tuple(shape)), params


@functools.lru_cache(maxsize=None)
def _inbox_prepared(shape: tuple[str, ...]) -> Prepared:
    query = select(*_HT.c[InboxTask._fields]).where(_HT.c.status == bindparam("status"))
    if "organisation" in shape:
        query = query.where(_HT.c.role == bindparam("own_role"), _HT.c.organisation_id == bindparam("organisation_id"))
    if "own_role" in shape:
        query = query.where(_HT.c.role == bindparam("own_role"))
    if "partnership" in shape:
        query = query.where(_HT.c.partnership_id == bindparam("partnership_id"))
    if "assignee" in shape:
        query = query.where(or_(_HT.c.assignee_id.is_(None), _HT.c.assignee_id == bindparam("user_id")))
    if "role" in shape:
        query = query.where(_HT.c.role == bindparam("role"))
    query = query.order_by(_HT.c.due_at.is_(None), _HT.c.due_at, _HT.c.id)
    return Prepared(query.limit(bindparam("limit")).offset(bindparam("offset")))


def list_tasks(uow: UnitOfWork, username: str | None = None, role: str | None = None,
               limit: int = 50, offset: int = 0) -> list[InboxTask]:
    viewer = get_viewer(uow, username) if username else None
    prepared, params = inbox_statement(viewer, role)
    return [InboxTask(*row) for row in prepared.rows(uow.connection, **params, limit=limit, offset=offset)]


def _refuse(app: App, uow: UnitOfWork, task: HumanTask, user: User, reason: str) -> None:
    """Audit the refusal in a transaction of its own, once the refused one is rolled back (nothing of
    it is kept, and its write lock is let go)."""
    actor, after = actor_of(user), {"human_task": task.id, "reason": reason}
    where = {"instance_id": task.instance_id, "task": task.task_spec, "subject": task.subject_ref}
    uow.rollback()
    with app.uow() as audit_uow:
        audit_uow.audit(actor, "task_refused", **where, after=after)
        audit_uow.commit()
    raise PermissionDenied(reason)


def _file_orgs(uow: UnitOfWork, instance: ProcessInstance) -> frozenset[int]:
    if instance.subject_type != "exchange":
        return frozenset()
    exchange = uow.session.get(Exchange, instance.subject_id)
    return frozenset(o for o in (exchange.visitor_org_id, exchange.host_org_id) if o is not None)


def _completed_by(uow: UnitOfWork, instance_id: int, task_spec: str) -> frozenset[int]:
    return frozenset(uow.session.scalars(select(HumanTask.completed_by).where(
        HumanTask.instance_id == instance_id, HumanTask.task_spec == task_spec,
        HumanTask.status == "completed", HumanTask.completed_by.is_not(None))))


def permission_problem(uow: UnitOfWork, task: HumanTask, user: User, data: Mapping[str, Any] | None) -> str | None:
    """Why `user` may not complete the open `task` (lane, partnership, assignee, R-4EYES), or None."""
    if task.assignee_id is not None and task.assignee_id != user.id:
        return f"task {task.id} is claimed by someone else"
    if user.role != task.role and user.role != "administrator":
        return f"task {task.id} belongs to the {task.lane} lane ({task.role}); {user.username} is {user.role}"
    if user.role == "applicant" and user.organisation_id != task.organisation_id:
        return f"task {task.id} belongs to another organisation"
    if user.role in ("officer", "finance") and task.partnership_id not in (None, user.partnership_id):
        return f"task {task.id} belongs to another partnership"
    instance = uow.session.get(ProcessInstance, task.instance_id)
    conflicts = frozenset(uow.session.scalars(select(ConflictDeclaration.organisation_id).where(
        ConflictDeclaration.user_id == user.id)))
    action = FOUR_EYES_ACTIONS.get(task.task_spec, "complete_task")
    ctx = ActionContext(
        action=action, actor_id=user.id, file_org_ids=_file_orgs(uow, instance), actor_conflicts=conflicts,
        evidence_validators=_completed_by(uow, instance.id, "validate_evidence"),
        payment_approvers=_completed_by(uow, instance.id, "approve_payment"),
    )
    decision = check_action(ctx)
    if not decision.ok:
        return " ".join(r.message for r in decision.reasons)
    if task.task_spec == "approve_payment" and (data or {}).get("decision") == "approve":
        claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == instance.subject_id)).first()
        if claim is not None and claim.override:
            proposers = frozenset(p for p in [claim.override.get("proposed_by")] if p is not None)
            override = check_action(ActionContext(action="approve_override", actor_id=user.id,
                                                  override_proposers=proposers))
            if not override.ok:
                return " ".join(r.message for r in override.reasons)
    return None


def _open_task(uow: UnitOfWork, task_id: int) -> HumanTask:
    task = get_task(uow, task_id)
    if task.status != "open":
        raise task_conflict(task_id)
    return task


def _write_lock(uow: UnitOfWork) -> None:
    """SQLite: take the database's write lock before reading anything, waiting for a writer under the
    busy timeout. A transaction that reads first and writes later cannot wait — SQLite refuses its write
    at once (SQLITE_BUSY) whenever another writer went first — and would lose on data it read before."""
    if uow.connection.dialect.name == "sqlite":
        uow.connection.exec_driver_sql("UPDATE human_tasks SET id = id WHERE 0")


def _lost_race_is_conflict(task_id: int, use_case: Callable[[], T]) -> T:
    """Run `use_case` (one transaction); a race lost to another transaction is the task's `Conflict`."""
    from workflows.engine.runner import TaskNoLongerOpen  # SpiffWorkflow: not on the inbox's path

    try:
        return use_case()
    except (TaskNoLongerOpen, StaleDataError, IntegrityError) as err:
        raise task_conflict(task_id) from err


_ASSIGN = update(_HT).where(_HT.c.id == bindparam("task_id"), _HT.c.status == "open")


def _assign(uow: UnitOfWork, task: HumanTask, user_id: int | None) -> None:
    """Set the assignee if the row is still open and still has the assignee read: else a lost race."""
    loaded = task.assignee_id
    unchanged = _HT.c.assignee_id.is_(None) if loaded is None else _HT.c.assignee_id == loaded
    changed = uow.connection.execute(_ASSIGN.where(unchanged).values(assignee_id=user_id), {"task_id": task.id})
    if changed.rowcount != 1:
        raise task_conflict(task.id)
    set_committed_value(task, "assignee_id", user_id)


def claim(app: App, task_id: int, username: str) -> HumanTask:
    return _lost_race_is_conflict(task_id, lambda: _claim(app, task_id, username))


def _claim(app: App, task_id: int, username: str) -> HumanTask:
    with app.uow() as uow:
        _write_lock(uow)
        task, user = _open_task(uow, task_id), get_user(uow, username)
        problem = permission_problem(uow, task, user, None)
        if problem:
            _refuse(app, uow, task, user, problem)
        _assign(uow, task, user.id)
        uow.audit(actor_of(user), "task_claimed", instance_id=task.instance_id, task=task.task_spec,
                  subject=task.subject_ref, after={"human_task": task.id})
        uow.commit()
        return task


def unclaim(app: App, task_id: int, username: str) -> HumanTask:
    return _lost_race_is_conflict(task_id, lambda: _unclaim(app, task_id, username))


def _unclaim(app: App, task_id: int, username: str) -> HumanTask:
    with app.uow() as uow:
        _write_lock(uow)
        task, user = _open_task(uow, task_id), get_user(uow, username)
        if task.assignee_id not in (user.id, None) and user.role != "administrator":
            _refuse(app, uow, task, user, f"task {task.id} is claimed by someone else")
        _assign(uow, task, None)
        uow.audit(actor_of(user), "task_unclaimed", instance_id=task.instance_id, task=task.task_spec,
                  subject=task.subject_ref)
        uow.commit()
        return task


def complete_task(app: App, task_id: int, username: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the form, check who may act, run the task and advance — all or nothing."""
    return _lost_race_is_conflict(task_id, lambda: _complete(app, task_id, username, data))


def _complete(app: App, task_id: int, username: str, data: Mapping[str, Any]) -> dict[str, Any]:
    from tasks.forms import FormError, validate_form
    from workflows.services.form_context import form_context

    with app.uow() as uow:
        _write_lock(uow)
        task, user = _open_task(uow, task_id), get_user(uow, username)
        problem = permission_problem(uow, task, user, data)  # before the form: no hints to outsiders
        if problem:
            _refuse(app, uow, task, user, problem)
        try:
            form = validate_form(task.task_spec, dict(data), form_context(uow, task, app.settings.timezone))
        except FormError as err:
            raise ServiceError(str(err)) from err
        form = {**form, "completed_by": user.id}
        instance = app.engine.instance(uow, task.instance_id)
        uow.audit(actor_of(user), "task_completed", instance_id=instance.id, task=task.task_spec,
                  subject=task.subject_ref, after={"human_task": task.id, "form": form})
        from workflows.services.lifecycle import complete as run_complete

        run_complete(app, uow, instance, task.task_guid, form)
        uow.commit()
        return {"task": task.id, "instance": instance.id, "instance_status": instance.status,
                "outcome": instance.outcome}
