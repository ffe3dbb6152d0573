"""Persisted process instances: start, load, advance and save — instance state, human-task rows and
audit events in the caller's transaction (one unit of work)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from workflows.audit import SYSTEM, Actor
from workflows.db.base import table_of
from workflows.db.prepared import Prepared
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.engine import spiff
from workflows.engine.library import LoadedDefinition, ProcessLibrary
from workflows.engine.orm_rows import loaded_factory
from workflows.uow import UnitOfWork

log = logging.getLogger(__name__)

LANE_ROLES = {
    "visitor": "applicant", "host": "applicant", "applicant": "applicant", "officer": "officer",
    "finance": "finance", "administrator": "administrator",
}


# The statements of every step, compiled once per dialect (workflows/db/prepared.py).
_PI, _HT = table_of(ProcessInstance), table_of(HumanTask)
_SAVED = ("state_json", "updated_at", "next_timer_at", "waiting_messages", "status", "outcome", "incident",
          "completed_at")
_INDEXED = ("status", "next_timer_at")  # in ix_process_instances_status_timer
_UNKNOWN = object()  # an attribute not loaded: write it
TERMINATED = "cxp_terminated_outcome"  # workflow data: the outcome of an instance ended by `terminate`


def _save_statement(names: tuple[str, ...]) -> Prepared:
    return Prepared(
        update(_PI)
        .where(_PI.c.id == bindparam("instance_id"), _PI.c.lock_version == bindparam("loaded_version"))
        .values({**{name: bindparam(f"new_{name}") for name in names}, "lock_version": bindparam("new_version")}))


# A column named in SET has its index entries rewritten even when its value stays the same, so the
# usual step (status and next timer unchanged) leaves them out: one index page less per commit.
_SAVE = _save_statement(_SAVED)
_SAVE_UNINDEXED = _save_statement(tuple(name for name in _SAVED if name not in _INDEXED))
_LOAD_COLUMNS = tuple(c for c in _PI.columns if c.key != "state_json")  # the state stays deferred
_LOAD = Prepared(select(*_LOAD_COLUMNS).where(_PI.c.id == bindparam("instance_id")))
_LOAD_LOCKED = Prepared(select(*_LOAD_COLUMNS).where(_PI.c.id == bindparam("instance_id")).with_for_update())
_LOCK = Prepared(select(_PI.c.lock_version).where(_PI.c.id == bindparam("instance_id")).with_for_update())
_LOAD_KEYS = tuple(c.key for c in _LOAD_COLUMNS)
_LOAD_STATE = Prepared(select(_PI.c.state_json).where(_PI.c.id == bindparam("instance_id")))
_LOADED_INSTANCE = loaded_factory(ProcessInstance)  # orm_rows: SQLAlchemy's loader, without a query
_INSERT_INSTANCE = Prepared(
    insert(_PI).values({c.key: bindparam(c.key) for c in _PI.columns if c.key != "id"}).returning(_PI.c.id))
_TASK_COLUMNS = ("instance_id", "task_guid", "task_spec", "name", "lane", "role", "partnership_id", "subject_ref",
                 "organisation_id", "due_at", "follow_up_at", "status", "created_at")
# When a task is due if its process says nothing (days after it opens), and how many days before its due
# date it is followed up; the exchange and hosting processes carry their call's rule set's values in
# `task_deadlines` (workflows.services.lifecycle.submit_application).
DEFAULT_DEADLINES = {"officer": 10, "applicant": 14, "follow_up": 3}
_OPEN_TASK = Prepared(insert(_HT).values({c: bindparam(c) for c in _TASK_COLUMNS}).returning(_HT.c.id))
_OPEN_GUIDS = Prepared(select(_HT.c.task_guid).where(_HT.c.instance_id == bindparam("instance_id"),
                                                    _HT.c.status == "open"))
_CLOSE_TASK = Prepared(
    update(_HT)
    .where(_HT.c.task_guid == bindparam("guid"), _HT.c.status == "open")
    .values(status="completed", completed_at=bindparam("at"), completed_by=bindparam("by"))
)


def _attach(uow: UnitOfWork, values: Any) -> ProcessInstance:
    """The ORM object of an instance row the engine read or wrote itself, built as SQLAlchemy's loader
    builds one (no __init__, the values put in its dict), held by the unit of work as persistent and
    clean — in its session once it has one."""
    instance = _LOADED_INSTANCE(values)
    uow.attach(instance, instance.id)
    return instance


class DeadlinePolicy(Protocol):
    """How far `n` days from a moment is, for a task of this partnership or organisation (the
    application's calendar: workflows/due_dates.py)."""

    def shift(self, uow: UnitOfWork, moment: datetime, working_days: int, partnership_id: int | None,
              organisation_id: int | None) -> datetime: ...


class EngineError(Exception):
    """An expected refusal (wrong state, unknown message, …) with a message for a person."""


class TaskNoLongerOpen(EngineError):
    """The user task was completed (or cancelled) by another transaction meanwhile: a lost race."""


@dataclass
class Outgoing:
    subject_type: str
    subject_id: int
    name: str
    payload: dict[str, Any]


@dataclass
class Advance:
    """What one advance of an instance produced, for the caller."""

    instance: ProcessInstance
    outgoing: list[Outgoing] = field(default_factory=list)


def _iso(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Engine:
    """The runtime over SpiffWorkflow. `context_factory(uow, instance, outgoing)` builds the
    `tasks.ports.ServiceContext` given to service functions; `on_completed(uow, instance)` runs in the
    unit of work in which an instance ends (the App passes `workflows.engine.completion.run`).

    One engine serves every thread of a process. Each step works on a workflow of its own: a
    workflow kept in memory after a commit is taken out of the cache by the one
    step that uses it next, and put back only once that step has committed (the cache is read and
    changed under a lock). Everything else an engine holds is read only."""

    def __init__(self, library: ProcessLibrary, context_factory: Callable[..., Any],
                 on_completed: Callable[[UnitOfWork, ProcessInstance], None] | None = None,
                 deadlines: DeadlinePolicy | None = None) -> None:
        self.library = library
        self.context_factory = context_factory
        self.on_completed = on_completed
        self.deadlines = deadlines  # the application's calendar of due dates; None: calendar days
        self._cache: dict[int, tuple[int, Any]] = {}
        self._cache_lock = threading.Lock()
        # The engine builds ORM objects from rows it read itself (`_attach`): the mappers must be
        # configured first, which an ORM query would do — but a worker's first step (a claimed timer)
        # may run none before it.
        configure_mappers()

    # ---- loading and saving ------------------------------------------------------------------
    @staticmethod
    def instance(uow: UnitOfWork, instance_id: int, lock: bool = False) -> ProcessInstance | None:
        """The instance row as a persistent ORM object, read by one prepared statement rather than an
        ORM load (a third of its cost); its state is read only if the in-memory workflow is stale.
        `lock`: read it locked for this transaction (PostgreSQL), as a use case that will advance it
        does before it writes anything else (see `lock`)."""
        held = uow.held(ProcessInstance, instance_id)
        if held is not None:
            if lock:
                Engine.lock(uow, held)
            return held
        locking = lock and uow.connection.dialect.name == "postgresql"
        row = (_LOAD_LOCKED if locking else _LOAD).first(uow.connection, instance_id=instance_id)
        if row is None:
            return None
        if locking:
            uow.locked_instances.add(instance_id)
        return _attach(uow, zip(_LOAD_KEYS, row, strict=True))  # the state stays unloaded (deferred)

    @staticmethod
    def lock(uow: UnitOfWork, instance: ProcessInstance) -> None:
        """Lock the instance's row for this transaction (PostgreSQL; SQLite has one writer) before its
        step writes anything: the first lock of every step, so that the locks a step takes after it
        (its human-task rows, the rows its services change, its audit chain's head) are only ever
        waited for by a step of another instance, never in a cycle. Each instance is advanced by one
        transaction at a time; a copy read before another transaction advanced it is a lost race."""
        if instance.id in uow.locked_instances or uow.connection.dialect.name != "postgresql":
            return
        row = _LOCK.first(uow.connection, instance_id=instance.id)
        uow.locked_instances.add(instance.id)
        if row is None or row[0] != instance.lock_version:
            raise StaleDataError(f"process instance {instance.id} was changed by someone else since it was loaded "
                                 f"(version {instance.lock_version})")

    def _script_engine(self) -> spiff.ServiceBindingEngine:
        return spiff.ServiceBindingEngine()

    def load(self, uow: UnitOfWork, instance: ProcessInstance) -> Any:
        """The workflow of `instance`, to advance it: its row is locked first (`lock`)."""
        self.lock(uow, instance)
        with self._cache_lock:
            cached = self._cache.pop(instance.id, None)
        if cached is not None and cached[0] == instance.lock_version:
            return cached[1]
        self.library.by_id(uow, instance.definition_id)
        state = instance.__dict__.get("state_json")
        if state is None:  # not read with the row: read it now, as the ORM loads a deferred column
            (state,) = _LOAD_STATE.first(uow.connection, instance_id=instance.id)  # type: ignore[misc]
            set_committed_value(instance, "state_json", state)
        return spiff.load_state(state, self._script_engine())

    def _remember_after_commit(self, uow: UnitOfWork, instance: ProcessInstance, workflow: Any) -> None:
        """Keep the in-memory workflow for the next step once this transaction commits (keyed by the
        instance's lock version, so a copy another process saved since is never used)."""
        if instance.status == "completed":  # it will not advance again: let it go
            uow.on_commit(("cxp_workflow", instance.id), lambda: self._forget(instance.id))
            return

        def remember() -> None:
            with self._cache_lock:  # another thread's eviction could otherwise iterate a changing dict
                self._cache[instance.id] = (instance.lock_version, workflow)
                if len(self._cache) > 512:
                    del self._cache[next(iter(self._cache))]

        uow.on_commit(("cxp_workflow", instance.id), remember)

    def _forget(self, instance_id: int) -> None:
        with self._cache_lock:
            self._cache.pop(instance_id, None)

    def _definition(self, uow: UnitOfWork, instance: ProcessInstance) -> LoadedDefinition:
        return self.library.by_id(uow, instance.definition_id)

    def save(self, uow: UnitOfWork, instance: ProcessInstance, workflow: Any) -> None:
        now = uow.now()
        with spiff.using_clock(uow.now):
            messages, timers = spiff.waiting(workflow)
        completed_now = spiff.is_completed(workflow) and instance.status != "completed"
        values = {
            "state_json": spiff.dump_state(workflow), "updated_at": now,
            "next_timer_at": min(timers) if timers else None, "waiting_messages": sorted(messages),
            "status": "completed" if completed_now else instance.status,
            "outcome": self._outcome(workflow) if completed_now else instance.outcome,
            "incident": instance.incident, "completed_at": now if completed_now else instance.completed_at,
        }
        self._write_instance(uow, instance, values)
        if completed_now:
            uow.audit(SYSTEM, "process_completed", instance_id=instance.id,
                      subject=f"{instance.subject_type}:{instance.subject_id}", after={"outcome": instance.outcome})
            if self.on_completed is not None:
                self.on_completed(uow, instance)
        self._project_human_tasks(uow, instance, workflow)
        self._remember_after_commit(uow, instance, workflow)

    @staticmethod
    def _write_instance(uow: UnitOfWork, instance: ProcessInstance, values: dict[str, Any]) -> None:
        """One UPDATE guarded by the optimistic lock: a save from a stale copy changes nothing and fails
        as the ORM's own version check would. The ORM object then holds what was written, as clean."""
        loaded = instance.lock_version
        state = instance_state(instance)
        unindexed = all(values[name] == state.committed_state.get(name, state.dict.get(name, _UNKNOWN))
                        for name in _INDEXED)  # as stored: a value set on the object is a change
        statement = _SAVE_UNINDEXED if unindexed else _SAVE
        params = {f"new_{name}": value for name, value in values.items() if not (unindexed and name in _INDEXED)}
        changed = statement.execute(uow.connection, instance_id=instance.id, loaded_version=loaded,
                                    new_version=loaded + 1, **params)
        if changed != 1:
            raise StaleDataError(f"process instance {instance.id} was changed by someone else since it was loaded "
                                 f"(version {loaded})")
        for name, value in values.items():
            set_committed_value(instance, name, value)
        set_committed_value(instance, "lock_version", loaded + 1)

    @staticmethod
    def _outcome(workflow: Any) -> str | None:
        from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
        from SpiffWorkflow.util.task import TaskState

        if workflow.data.get(TERMINATED):
            return str(workflow.data[TERMINATED])

        ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                if isinstance(t.task_spec, EndEvent) and t.task_spec.name.startswith("end_")
                and t.workflow is workflow]
        main = [t for t in ends if t.task_spec.name not in ("end_reminder_sent", "end_overdue_escalated")]
        chosen = max(main or ends, key=lambda t: t.last_state_change, default=None)
        return chosen.task_spec.name if chosen else None

    def _project_human_tasks(self, uow: UnitOfWork, instance: ProcessInstance, workflow: Any) -> None:
        """Open a row for every new READY user task; cancel the open rows whose task vanished (e.g. an
        interrupting timer). The open set is remembered on the in-memory workflow, so a step costs a
        query only when a task vanished or the workflow was just restored."""
        definition = self._definition(uow, instance)
        ready = {str(t.id): t for t in spiff.manual_ready_tasks(workflow)}
        known: set[str] | None = getattr(workflow, "cxp_open_guids", None)
        if known is None:
            known = {guid for (guid,) in _OPEN_GUIDS.rows(uow.connection, instance_id=instance.id)}
        vanished = known - ready.keys()
        if vanished:
            for row in uow.session.scalars(select(HumanTask).where(
                    HumanTask.instance_id == instance.id, HumanTask.status == "open",
                    HumanTask.task_guid.in_(vanished))):
                row.status = "cancelled"
                row.completed_at = uow.now()
                uow.audit(SYSTEM, "task_cancelled", instance_id=instance.id, task=row.task_spec,
                          subject=row.subject_ref)
        conn = None
        for guid, task in ready.items():
            if guid in known:
                continue
            info = definition.user_tasks.get(task.task_spec.name, {})
            lane = (info.get("lane") or "").strip()
            new: dict[str, Any] = {
                "instance_id": instance.id, "task_guid": guid, "task_spec": task.task_spec.name,
                "name": info.get("label") or task.task_spec.name, "lane": lane,
                "role": LANE_ROLES.get(lane.lower(), lane.lower() or "officer"),
                "partnership_id": self._evaluate(workflow, task, info.get("partnership")),
                "subject_ref": task.data.get("exchange_ref") or task.data.get("subject_ref"),
                "organisation_id": self._task_organisation(lane, task.data),
                "status": "open", "created_at": uow.now(),
            }
            new["due_at"], new["follow_up_at"] = self._deadlines(uow, new, info, workflow, task)
            conn = conn or uow.connection
            (row_id,) = _OPEN_TASK.one(conn, **new)
            uow.audit(SYSTEM, "task_created", instance_id=instance.id, task=new["task_spec"],
                      subject=new["subject_ref"], after={"human_task": row_id, "lane": lane, "due_at": new["due_at"],
                                                         "follow_up_at": new["follow_up_at"]})
        workflow.cxp_open_guids = set(ready)

    def _deadlines(self, uow: UnitOfWork, new: Mapping[str, Any], info: Mapping[str, Any], workflow: Any,
                   task: Any) -> tuple[datetime | None, datetime | None]:
        """(due, follow-up) of a new task: every task is due some day — its process's `due` property, or
        the rule set's days for its role — and followed up before, unless its process chases it itself
        (`reminders` = "process": the evidence timers). Days are the deadline policy's (working days of
        the task's partnership, workflows/due_dates.py), calendar days without one."""
        now = uow.now()
        due = _iso(self._evaluate(workflow, task, info.get("due")))
        if info.get("reminders") == "process":
            return due, None
        days = {**DEFAULT_DEADLINES, **(task.data.get("task_deadlines") or {})}

        def shift(moment: datetime, n: int) -> datetime:
            if self.deadlines is None:
                return moment + timedelta(days=n)
            return self.deadlines.shift(uow, moment, n, new["partnership_id"], new["organisation_id"])
        if due is None:
            due = shift(now, int(days["applicant" if new["role"] == "applicant" else "officer"]))
        return due, max(now, shift(due, -int(days["follow_up"])))

    @staticmethod
    def _task_organisation(lane: str, data: Mapping[str, Any]) -> int | None:
        if lane.lower() == "visitor":
            return data.get("visitor_org_id")
        if lane.lower() == "host":
            return data.get("host_org_id")
        if lane.lower() == "applicant":  # the organisation's own process (bpmn/registration.bpmn)
            return data.get("organisation_id")
        return None

    @staticmethod
    def _evaluate(workflow: Any, task: Any, expression: str | None) -> Any:
        if not expression:
            return None
        if expression.isidentifier():  # a bare name (most of them): what evaluating it gives
            if expression in task.data:
                return task.data[expression]
            environment = getattr(workflow.script_engine, "environment", None)
            if expression not in getattr(environment, "globals", ()):
                return None  # data not there yet: evaluating would raise, at a great cost
        try:
            return workflow.script_engine.evaluate(task, expression)
        except Exception:  # a property naming data not there yet is simply unknown
            return None

    # ---- running -----------------------------------------------------------------------------
    def start(self, uow: UnitOfWork, process_id: str, subject_type: str, subject_id: int,
              data: Mapping[str, Any], actor: Actor = SYSTEM) -> Advance:
        definition = self.library.current(uow, process_id)
        workflow = spiff.new_workflow(definition.key, self._script_engine())
        workflow.cxp_open_guids = set()  # a new instance has no human-task rows yet
        now = uow.now()
        values = {"definition_id": definition.id, "process_id": process_id, "subject_type": subject_type,
                  "subject_id": subject_id, "state_json": "{}", "status": "running", "outcome": None,
                  "next_timer_at": None, "waiting_messages": [], "incident": None, "lock_version": 1,
                  "created_at": now, "updated_at": now, "completed_at": None, "lease_owner": None,
                  "lease_until": None}
        (instance_id,) = _INSERT_INSTANCE.first(uow.connection, **values)  # type: ignore[misc]
        instance = _attach(uow, {"id": instance_id, **values})
        workflow.data.update(data)
        for task in workflow.get_tasks():
            task.data.update(data)
        uow.audit(actor, "process_started", instance_id=instance.id, subject=f"{subject_type}:{subject_id}",
                  after={"process": process_id, "version": definition.version, "bpmn_sha256": definition.sha256})
        return self.advance(uow, instance, workflow)

    def advance(self, uow: UnitOfWork, instance: ProcessInstance, workflow: Any) -> Advance:
        """Run engine steps (service tasks, gateways, fired timers) and save; an error becomes an incident."""
        result = Advance(instance)
        context = self.context_factory(uow, instance, result.outgoing)
        workflow.script_engine.dispatch = context.dispatch
        try:
            with spiff.using_clock(uow.now):
                workflow.refresh_timers()
                workflow.do_engine_steps()
            # a step that still failed elsewhere (a side branch) keeps the incident open until retried
            if instance.status == "incident" and not any(True for _ in spiff.error_tasks(workflow)):
                instance.status = "running"
                instance.incident = None
        except Exception as err:  # WorkflowTaskException and anything a service raised
            self._open_incident(uow, instance, workflow, err)
        finally:
            workflow.script_engine.dispatch = None
        self.save(uow, instance, workflow)
        return result

    def _open_incident(self, uow: UnitOfWork, instance: ProcessInstance, workflow: Any, err: Exception) -> None:
        from SpiffWorkflow.exceptions import SpiffWorkflowException

        failed = next(iter(spiff.error_tasks(workflow)), None)
        cause = err.__cause__ or getattr(err, "error", None) or err
        incident = {
            "task": failed.task_spec.name if failed else None,
            # Spiff's own exceptions already name the error type; anything a service raised is named here
            "error": str(err) if isinstance(cause, SpiffWorkflowException) else f"{type(cause).__name__}: {cause}",
            "at": uow.now().isoformat(),
        }
        log.warning("incident on instance %s: %s", instance.id, incident)
        instance.status = "incident"
        instance.incident = incident
        uow.audit(SYSTEM, "incident_opened", instance_id=instance.id, task=incident["task"],
                  subject=f"{instance.subject_type}:{instance.subject_id}", after=incident)

    def terminate(self, uow: UnitOfWork, instance: ProcessInstance, outcome: str, actor: Actor,
                  reason: str) -> Advance:
        """End a running instance now with `outcome` (an officer's cancellation): every open task, timer
        and wait is cancelled, its human-task rows with them; no service runs."""
        if instance.status == "completed":
            raise EngineError(f"instance {instance.id} has already ended ({instance.outcome})")
        workflow = self.load(uow, instance)
        workflow.cancel()
        workflow.data[TERMINATED] = outcome
        uow.audit(actor, "process_terminated", instance_id=instance.id,
                  subject=f"{instance.subject_type}:{instance.subject_id}",
                  before={"status": instance.status, "incident": instance.incident},
                  after={"outcome": outcome, "reason": reason})
        instance.status, instance.incident = "running", None
        self.save(uow, instance, workflow)
        return Advance(instance)

    def retry(self, uow: UnitOfWork, instance: ProcessInstance, actor: Actor) -> Advance:
        if instance.status != "incident":
            raise EngineError(f"instance {instance.id} has no open incident")
        workflow = self.load(uow, instance)
        spiff.make_failed_tasks_ready(workflow)
        uow.audit(actor, "incident_retried", instance_id=instance.id, before=instance.incident)
        return self.advance(uow, instance, workflow)

    def complete(self, uow: UnitOfWork, instance: ProcessInstance, task_guid: str,
                 form: Mapping[str, Any]) -> Advance:
        """Run a READY user task with validated form data (`completed_by`: the user's id), close its
        human-task row, then advance."""
        workflow = self.load(uow, instance)
        task = spiff.ready_manual_task(workflow, task_guid)
        if task is None or not self._close_task_row(uow, task_guid, form.get("completed_by")):
            raise TaskNoLongerOpen("this task is no longer open")
        task.data.update(form)
        task.data[task.task_spec.name] = dict(form)
        with spiff.using_clock(uow.now):
            task.run()
        open_guids = getattr(workflow, "cxp_open_guids", None)
        if open_guids is not None:
            open_guids.discard(task_guid)  # its row is closed above as completed, not cancelled
        return self.advance(uow, instance, workflow)

    @staticmethod
    def _close_task_row(uow: UnitOfWork, task_guid: str, user_id: int | None) -> bool:
        """Mark the open row of the task completed; False when it is not open. A copy the session
        already holds is brought up to date."""
        now = uow.now()
        if _CLOSE_TASK.execute(uow.connection, guid=task_guid, at=now, by=user_id) != 1:
            return False
        for held in (uow.session.identity_map.values() if uow.has_session else ()):
            if isinstance(held, HumanTask) and held.task_guid == task_guid:
                for name, value in (("status", "completed"), ("completed_at", now), ("completed_by", user_id)):
                    set_committed_value(held, name, value)
        return True

    def deliver(self, uow: UnitOfWork, instance: ProcessInstance, name: str, payload: Mapping[str, Any]) -> Advance:
        """Deliver a BPMN message; its payload also lands flat in the task data."""
        if instance.status == "completed" or name not in (instance.waiting_messages or []):
            raise EngineError(f"{instance.subject_type} {instance.subject_id} is not waiting for '{name}'")
        workflow = self.load(uow, instance)
        spiff.send_message(workflow, name, dict(payload))
        return self.advance(uow, instance, workflow)

    def fire_timers(self, uow: UnitOfWork, instance: ProcessInstance) -> Advance:
        return self.advance(uow, instance, self.load(uow, instance))
