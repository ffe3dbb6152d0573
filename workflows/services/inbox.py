"""Human tasks: the inbox, claim/unclaim/reassign, and completion. Who may see and do what is asked
of `workflows.services.access`: a task the principal may not see answers `NotFound`, as an id that does
not exist; one they see but may not act on (another lane, someone else's claim, R-4EYES, an auditor)
is refused and the refusal audited (and committed) even though nothing else changes.

A claim, release or completion that loses its task to someone else — the task is no longer open when
read, its row was closed or re-assigned by a concurrent transaction, the instance was saved meanwhile
(the optimistic lock), a unique row was written twice — raises `Conflict` with one message, writes
nothing and is not audited as a refusal. On SQLite these use cases take the write lock first (they
wait for each other, then read what the winner wrote); on PostgreSQL the loser's conditional UPDATE
waits for the winner's row lock and then changes nothing."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from workflows.app import App
from workflows.db.base import table_of
from workflows.db.models import ROLES, User
from workflows.db.prepared import Prepared
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.services import FieldError, Invalid, access, task_conflict
from workflows.services.access import Principal
from workflows.services.outputs import CompletionOut, InboxPage, ReassignOut, TaskOut
from workflows.uow import UnitOfWork

T = TypeVar("T")

STATUSES = ("open", "claimed", "unclaimed", "mine", "overdue")
SORTS = ("due", "-due", "created", "-created", "task", "-task")
MAX_PAGE_SIZE = 200

_HT = table_of(HumanTask)
_PI = table_of(ProcessInstance)
_USERS = table_of(User)
_PROCESS = select(_PI.c.process_id).where(_PI.c.id == _HT.c.instance_id).scalar_subquery()
_ASSIGNEE = select(_USERS.c.username).where(_USERS.c.id == _HT.c.assignee_id).scalar_subquery()
_ROW = ("id", "task_spec", "name", "lane", "role", "partnership_id", "organisation_id", "subject_ref",
        "instance_id", "assignee_id", "due_at", "follow_up_at", "status", "created_at")


@contextlib.contextmanager
def reading(source: App | UnitOfWork) -> Iterator[UnitOfWork]:
    """The unit of work to read in: the given one, or one of the use case's own."""
    if isinstance(source, UnitOfWork):
        yield source
        return
    with source.uow() as uow:
        yield uow


# --- the inbox -----------------------------------------------------------------------------------

def _check_filters(role: str | None, status: str, sort: str, page: int, page_size: int) -> None:
    if role is not None and role not in ROLES:
        raise Invalid.field("role", f"{role!r} is not a role ({', '.join(ROLES)})")
    if status not in STATUSES:
        raise Invalid.field("status", f"{status!r} is not an inbox status ({', '.join(STATUSES)})")
    if sort not in SORTS:
        raise Invalid.field("sort", f"{sort!r} is not a sort order ({', '.join(SORTS)})")
    if page < 1:
        raise Invalid.field("page", "must be 1 or more")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid.field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")


def inbox_statement(principal: Principal, role: str | None = None, process: str | None = None,
                    task: str | None = None, status: str = "open", due_before: datetime | None = None,
                    sort: str = "due") -> tuple[Prepared, Prepared, dict[str, Any]]:
    """The inbox of `principal` (every open task for the system), narrowed by the filters: the page
    statement and the counting one, each prepared once per shape of filter, and their parameters
    (`now`, `limit` and `offset` still to add). The plain inbox reads in the order of
    ix_human_tasks_inbox: soonest due first, no due date last, then by id."""
    params: dict[str, Any] = {}
    shape: list[str] = []
    if principal.user_id is not None:
        if principal.role == "applicant":
            shape.append("organisation")
            params.update(own_role="applicant", organisation_id=principal.organisation_id)
        elif not (principal.reads_all and role is not None):
            shape.append("own_role")
            params["own_role"] = principal.role
            if principal.role in access.PARTNERSHIP_ROLES:
                shape.append("partnership")
                params["partnership_id"] = principal.partnership_id
        params["user_id"] = principal.user_id
        if not (principal.reads_all and role is not None and status in ("open", "overdue")):
            shape.append(f"assignee:{status}")  # reading another lane: every open task of it
    elif status in ("claimed", "unclaimed"):
        shape.append(f"assignee:{status}")
    if status == "overdue":
        shape.append("overdue")
    for name, value in (("role", role), ("process", process), ("task", task), ("due_before", due_before)):
        if value is not None:
            shape.append(name)
            params[name] = value
    page, counts = _inbox_prepared(tuple(shape), sort)
    return page, counts, params


def _where(query: Any, shape: tuple[str, ...]) -> Any:
    query = query.where(_HT.c.status == "open")
    if "organisation" in shape:
        query = query.where(_HT.c.role == bindparam("own_role"), _HT.c.organisation_id == bindparam("organisation_id"))
    if "own_role" in shape:
        query = query.where(_HT.c.role == bindparam("own_role"))
    if "partnership" in shape:
        query = query.where(_HT.c.partnership_id == bindparam("partnership_id"))
    mine = _HT.c.assignee_id == bindparam("user_id")
    assignee = {"assignee:open": or_(_HT.c.assignee_id.is_(None), mine),
                "assignee:overdue": or_(_HT.c.assignee_id.is_(None), mine),
                "assignee:unclaimed": _HT.c.assignee_id.is_(None), "assignee:mine": mine,
                "assignee:claimed": _HT.c.assignee_id.is_not(None)}
    for name, condition in assignee.items():
        if name in shape:
            query = query.where(condition)
    if "overdue" in shape:
        query = query.where(_HT.c.due_at < bindparam("now", type_=_HT.c.due_at.type))
    if "role" in shape:
        query = query.where(_HT.c.role == bindparam("role"))
    if "process" in shape:
        query = query.where(_HT.c.instance_id.in_(select(_PI.c.id).where(_PI.c.process_id == bindparam("process"))))
    if "task" in shape:
        query = query.where(_HT.c.task_spec == bindparam("task"))
    if "due_before" in shape:
        query = query.where(_HT.c.due_at < bindparam("due_before", type_=_HT.c.due_at.type))
    return query


def _order(sort: str) -> list[Any]:
    due, created, spec, ident = _HT.c.due_at, _HT.c.created_at, _HT.c.task_spec, _HT.c.id
    orders: dict[str, list[Any]] = {"due": [due.is_(None), due, ident], "-due": [due.is_(None), due.desc(), ident.desc()],
            "created": [created, ident], "-created": [created.desc(), ident.desc()],
            "task": [spec, due.is_(None), due, ident], "-task": [spec.desc(), due.is_(None), due, ident]}
    return orders[sort]


@functools.cache
def _inbox_prepared(shape: tuple[str, ...], sort: str) -> tuple[Prepared, Prepared]:
    page = _where(select(*_HT.c[_ROW], _PROCESS, _ASSIGNEE), shape).order_by(*_order(sort))
    counts = _where(select(_HT.c.task_spec, func.count()), shape).group_by(_HT.c.task_spec)
    return Prepared(page.limit(bindparam("limit")).offset(bindparam("offset"))), Prepared(counts)


def _task_out(row: Any, now: datetime) -> TaskOut:
    """A page row as a `TaskOut`, without validating again what the database typed (fifty rows)."""
    due = row[10]
    return TaskOut.model_construct(
        id=row[0], task=row[1], name=row[2], lane=row[3], role=row[4], partnership_id=row[5],
        organisation_id=row[6], subject=row[7], instance_id=row[8], assignee_id=row[9], due_at=due,
        follow_up_at=row[11], status=row[12], created_at=row[13], process=row[14], assignee=row[15],
        overdue=due is not None and due < now)


def list_tasks(source: App | UnitOfWork, principal: Principal, *, role: str | None = None,
               process: str | None = None, task: str | None = None, status: str = "open",
               due_before: datetime | None = None, sort: str = "due", page: int = 1,
               page_size: int = 50) -> InboxPage:
    """The principal's inbox: the open tasks of their lane (and partnership, or organisation) that are
    unclaimed or theirs (`status`: open | claimed | unclaimed | mine | overdue), filtered by `role`,
    `process` id, `task` spec id and `due_before`, sorted (due, -due, created, -created, task, -task)
    and paged (1-based, `page_size` 1..200). An auditor or administrator gives a `role` to read every
    open task of that role, claimed or not; the system reads every open task."""
    _check_filters(role, status, sort, page, page_size)
    page_sql, counts_sql, params = inbox_statement(principal, role, process, task, status, due_before, sort)
    with reading(source) as uow:
        now = uow.now()
        params["now"] = now
        rows = page_sql.rows(uow.connection, **params, limit=page_size, offset=(page - 1) * page_size)
        counts = {spec: n for spec, n in counts_sql.rows(uow.connection, **params)}
    return InboxPage.model_construct(tasks=[_task_out(r, now) for r in rows], total=sum(counts.values()),
                                     page=page, page_size=page_size, counts_by_task=counts)


def barred_tasks(app: App, principal: Principal, tasks: Iterable[TaskOut]) -> dict[int, str]:
    """Of an inbox page's tasks, those the principal sees but may not claim or complete because of
    R-4EYES (a signature, validation or approval of theirs already on the file, a declared conflict of
    interest), each with the reason in words — the inbox marks them instead of offering Claim.

    Cheap on a busy inbox: one query finds the page's instances the principal already did a step of;
    only the tasks R-4EYES can bar on those (on every instance, when the principal declared a conflict)
    go through the full check."""
    if principal.role not in access.PARTNERSHIP_ROLES or principal.user_id is None:
        return {}
    mine = [t for t in tasks if t.assignee_id in (None, principal.user_id) and access.may_claim(principal, t)]
    if not mine:
        return {}
    out: dict[int, str] = {}
    with app.uow() as uow:
        if not access.conflicts_of(uow, principal):
            touched = set(uow.session.scalars(select(HumanTask.instance_id).where(
                HumanTask.instance_id.in_({t.instance_id for t in mine}), HumanTask.status == "completed",
                HumanTask.completed_by == principal.user_id)))
            mine = [t for t in mine if t.task in access.FOUR_EYES_ACTIONS and t.instance_id in touched]
        for t in mine:
            row = uow.session.get(HumanTask, t.id)
            try:
                problem = access.task_action_problem(uow, principal, row) if row is not None else None
            except LookupError:  # a record of the file is gone: the task's own page says so
                continue
            if problem:
                out[t.id] = problem
    return out


def task_out(uow: UnitOfWork, task: HumanTask) -> TaskOut:
    """One task row (ORM) as a `TaskOut`, with its process and its assignee's username."""
    process = uow.session.scalar(select(ProcessInstance.process_id).where(ProcessInstance.id == task.instance_id))
    assignee = uow.session.scalar(select(User.username).where(User.id == task.assignee_id)) \
        if task.assignee_id is not None else None
    due = task.due_at
    return TaskOut(id=task.id, task=task.task_spec, name=task.name, lane=task.lane, role=task.role,
                   partnership_id=task.partnership_id, organisation_id=task.organisation_id,
                   subject=task.subject_ref, instance_id=task.instance_id, assignee_id=task.assignee_id,
                   assignee=assignee, due_at=due, follow_up_at=task.follow_up_at,
                   overdue=due is not None and due < uow.now(), status=task.status,
                   created_at=task.created_at, process=process)


# --- claiming, releasing, reassigning, completing ------------------------------------------------

def _open_task(uow: UnitOfWork, principal: Principal, task_id: int) -> HumanTask:
    """The task if the principal sees it (else `NotFound`) and it is still open (else `Conflict`)."""
    task = access.visible_task(uow, principal, task_id)
    if task.status != "open":
        raise task_conflict(task_id)
    return task


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


def _audit(uow: UnitOfWork, principal: Principal, action: str, task: HumanTask, **data: Any) -> None:
    uow.audit(principal.actor, action, instance_id=task.instance_id, task=task.task_spec,
              subject=task.subject_ref, **data)


def claim(app: App, task_id: int, principal: Principal) -> TaskOut:
    """Take an open task of the principal's lane so that nobody else works on it."""
    return _lost_race_is_conflict(task_id, lambda: _claim(app, task_id, principal))


def _claim(app: App, task_id: int, principal: Principal) -> TaskOut:
    with app.uow() as uow:
        uow.write_lock()
        task = _open_task(uow, principal, task_id)
        problem = access.task_action_problem(uow, principal, task)
        if problem:
            access.refuse_task(app, uow, principal, task, problem)
        _assign(uow, task, principal.user_id)
        _audit(uow, principal, "task_claimed", task, after={"human_task": task.id})
        out = task_out(uow, task)
        uow.commit()
        return out


def unclaim(app: App, task_id: int, principal: Principal) -> TaskOut:
    """Give a claimed task back to its team (an administrator may release anyone's claim)."""
    return _lost_race_is_conflict(task_id, lambda: _unclaim(app, task_id, principal))


def _unclaim(app: App, task_id: int, principal: Principal) -> TaskOut:
    with app.uow() as uow:
        uow.write_lock()
        task = _open_task(uow, principal, task_id)
        problem = access.task_release_problem(principal, task)
        if problem:
            access.refuse_task(app, uow, principal, task, problem)
        _assign(uow, task, None)
        _audit(uow, principal, "task_unclaimed", task)
        out = task_out(uow, task)
        uow.commit()
        return out


def reassign(app: App, task_id: int, principal: Principal, to_username: str) -> ReassignOut:
    """Hand an open task to `to_username`: an officer or finance user to a colleague of the same role
    and partnership, an administrator to anyone with the task's role; audited as `task_reassigned`."""
    return _lost_race_is_conflict(task_id, lambda: _reassign(app, task_id, principal, to_username))


def _reassign(app: App, task_id: int, principal: Principal, to_username: str) -> ReassignOut:
    from workflows.services import NotFound

    with app.uow() as uow:
        uow.write_lock()
        task = _open_task(uow, principal, task_id)
        try:
            to = access.principal_for(uow, to_username)
        except NotFound:
            raise Invalid.field("to", f"no active user '{to_username}'") from None
        problem = access.reassign_problem(principal, task, to)
        if problem:
            access.refuse_task(app, uow, principal, task, problem)
        before = uow.session.scalar(select(User.username).where(User.id == task.assignee_id)) \
            if task.assignee_id is not None else None
        _assign(uow, task, to.user_id)
        _audit(uow, principal, "task_reassigned", task, before={"assignee": before},
               after={"human_task": task.id, "assignee": to.username})
        out = ReassignOut(task=task_out(uow, task), previous_assignee=before)
        uow.commit()
        return out


def form_invalid(err: Any) -> Invalid:
    """A `tasks.forms.FormError` as `Invalid`, each field's dotted path as a `loc` (list indices as
    integers): `documents.0.sha256` → ("documents", 0, "sha256")."""
    fields = [FieldError(tuple(int(p) if p.isdigit() else p for p in e["field"].split(".")) if e["field"] else (),
                         e["message"]) for e in err.errors]
    return Invalid(str(err), fields)


def complete_task(app: App, task_id: int, principal: Principal, data: Mapping[str, Any]) -> CompletionOut:
    """Check who may act, validate the form, run the task and advance — all or nothing."""
    return _lost_race_is_conflict(task_id, lambda: _complete(app, task_id, principal, data))


def _complete(app: App, task_id: int, principal: Principal, data: Mapping[str, Any]) -> CompletionOut:
    from tasks.forms import FormError, validate_form
    from workflows.services.form_context import form_context
    from workflows.services.lifecycle import complete as run_complete

    with app.uow() as uow:
        uow.write_lock()
        task = _open_task(uow, principal, task_id)
        problem = access.task_action_problem(uow, principal, task, data)  # before the form: no hints
        if problem:
            access.refuse_task(app, uow, principal, task, problem)
        context = form_context(uow, task, app.settings.timezone)
        try:
            form = validate_form(task.task_spec, dict(data), context)
        except FormError as err:
            if task.task_spec == "review_proposals" and context:
                _record_refused_overrides(app, uow, principal, task, data, context)
            raise form_invalid(err) from err
        form = {**form, "completed_by": principal.user_id}
        instance = app.engine.instance(uow, task.instance_id, lock=True)  # the step's first lock
        if instance is None:  # the task's foreign key, followed in this transaction: a broken database
            raise LookupError(f"ProcessInstance {task.instance_id} does not exist")
        _audit(uow, principal, "task_completed", task, after={"human_task": task.id, "form": form})
        run_complete(app, uow, instance, task.task_guid, form)
        uow.commit()
        return CompletionOut(task=task.id, instance=instance.id, instance_status=instance.status,
                             outcome=instance.outcome)


def _record_refused_overrides(app: App, uow: UnitOfWork, principal: Principal, task: HumanTask,
                              data: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    """A review whose override would be refused changes nothing, but the attempt is kept: each refused
    override is audited (`match_override_refused`, with its reasons) in a transaction of its own."""
    reassign = data.get("reassign")
    if not isinstance(reassign, list):
        return
    try:
        items = [{"visitor_application_id": int(r["visitor_application_id"]),
                  "host_application_id": int(r["host_application_id"])} for r in reassign]
    except (KeyError, TypeError, ValueError):
        return  # not well formed: the form's own errors say so
    refused = [(item, reasons) for item, reasons in zip(items, context["override_problems"](items), strict=True)
               if reasons]
    if not refused:
        return
    uow.rollback()
    with app.uow() as audit_uow:
        for item, reasons in refused:
            audit_uow.audit(principal.actor, "match_override_refused", instance_id=task.instance_id,
                            task=task.task_spec, subject=f"call:{task.subject_ref or ''}"[:60],
                            after={**item, "by": principal.user_id, "reasons": reasons})
        audit_uow.commit()
