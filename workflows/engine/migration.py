"""Moving a running instance to another version of its process, and back.

SpiffWorkflow 3.x does the core of it (SpiffWorkflow/bpmn/util/diff.py): `SpecDiff` aligns the task
specs of two versions (by BPMN id first, then by the flows around a renamed one) and says which were
added, removed or changed; `diff_workflow` maps an instance's tasks onto that alignment; and
`migrate_workflow` swaps the specs of the instance's tasks and resets its READY and WAITING tasks so
that what lies ahead is predicted again from the new version. Spiff leaves the decision of *whether* an
instance may move to the application, and three things to put right after the move:

* a READY or WAITING task is reset with its branch: it takes its parent's data, and a WAITING timer
  would start again from now (a "wait a week" would wait a week more). Each keeps its own data, and
  a timer what it recorded (when it fires) when its event is the same in both versions;
* a task whose spec the new version does not have keeps the old spec, and the instance could then
  not be loaded again: such an instance does not move (an instance waiting on a removed step, or with
  a removed step in its history);
* the engine's own records: the spec key the state is saved under, and the human-task projection (a
  relabelled or re-laned open task keeps its row, which takes the new name, lane and role).

Every move is computed on a copy restored from the stored state, then checked (every task runs a spec
of the new version, the state saves and loads again): a dry run and a real move run the same code, so
a dry run's "can move" is what the move does. The move itself is written by the caller's unit of work
(one transaction per instance), with the instance's previous definition, state and open tasks kept so
that `restore` can put them back."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from workflows.audit import Actor
from workflows.db.base import table_of
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.engine import spiff
from workflows.engine.library import LoadedDefinition
from workflows.engine.runner import LANE_ROLES, EngineError

if TYPE_CHECKING:
    from workflows.engine.runner import Engine
    from workflows.uow import UnitOfWork

# Spiff's own converters, used to compare two versions of a task spec attribute by attribute (the way
# `SpecDiff` compares them); read only, so one registry serves every thread.
_REGISTRY = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG)).registry

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
FAILED = TaskState.ERROR
SETTLED = TaskState.COMPLETED | TaskState.CANCELLED

# what a changed attribute of a task spec means to a person
FIELD_WORDS = {
    "bpmn_name": "name", "lane": "lane", "inputs": "incoming flows", "outputs": "outgoing flows",
    "extensions": "properties", "event_definition": "event", "typename": "kind of step",
    "operation_name": "service", "operation_params": "service parameters", "documentation": "documentation",
    "cond_task_specs": "conditions", "default_task_spec": "default flow", "cancel_activity": "interrupting",
    "manual": "manual", "prescript": "script", "postscript": "script", "io_specification": "data",
}
Change = Literal["added", "removed", "changed"]
Where = Literal["waiting", "done", "not reached"]


class MigrationRefused(EngineError):
    """The instance cannot move to the version asked for; `plan.reasons` say why."""

    def __init__(self, plan: InstancePlan) -> None:
        super().__init__("; ".join(plan.reasons))
        self.plan = plan


@dataclass(frozen=True)
class StepChange:
    """One element of the diagram that differs between two versions: `step` is its id in the version
    left (in the new one for an added step), `to_step` the id it has in the new version when Spiff
    aligned it with a step of another id (a renamed element), `fields` what changed, in words."""

    step: str
    label: str
    kind: str
    change: Change
    fields: tuple[str, ...] = ()
    to_step: str | None = None
    to_label: str | None = None  # its name in the new version, when that changed


@dataclass(frozen=True)
class InstanceChange:
    """A `StepChange` as one instance meets it: the instance waits on that step, has done it, or has
    not reached it (or will not: an added step behind where it stands is never run for it)."""

    change: StepChange
    where: Where


@dataclass
class InstancePlan:
    """What moving one instance to `to_version` changes for it, and whether it can move."""

    instance_id: int
    process_id: str
    from_version: int
    to_version: int
    waiting_on: list[str] = field(default_factory=list)
    changes: list[InstanceChange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def can_move(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Moved:
    """A move done in the caller's transaction, with what a rollback needs: the definition and state
    the instance had, its open human-task rows as they were, and its lock version after the move."""

    plan: InstancePlan
    from_definition_id: int
    state_before: str
    tasks_before: list[dict[str, Any]]
    lock_version_after: int
    task_updates: list[dict[str, Any]]


def _kind(spec: Any) -> str:
    """`UserTask` → "user task"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(spec).__name__).lower()


def _label(spec: Any) -> str:
    return str(getattr(spec, "bpmn_name", None) or spec.name)


def _is_element(spec: Any) -> bool:
    """A spec drawn in the diagram (a BPMN element), not one of Spiff's own (Start, End, …Split)."""
    return bool(getattr(spec, "bpmn_id", None))


def _words(fields: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(FIELD_WORDS.get(f, f.replace("_", " ")) for f in fields))


def version_changes(old: LoadedDefinition, new: LoadedDefinition) -> list[StepChange]:
    """The elements added, removed and changed from version `old` to version `new` of a process,
    as Spiff's `SpecDiff` aligns them, by step id."""
    diff = SpecDiff(_REGISTRY, old.spec, new.spec)
    found = [StepChange(s.name, _label(s), _kind(s), "removed") for s in diff.removed if _is_element(s)]
    for spec, fields in diff.changed.items():
        if _is_element(spec):
            target = diff.alignment.get(spec)
            renamed = target.name if target is not None and target.name != spec.name else None
            relabelled = _label(target) if target is not None and _label(target) != _label(spec) else None
            found.append(StepChange(spec.name, _label(spec), _kind(spec), "changed", _words(fields), renamed,
                                    relabelled))
    found += [StepChange(s.name, _label(s), _kind(s), "added") for s in diff.added if _is_element(s)]
    order = {"removed": 0, "changed": 1, "added": 2}
    return sorted(found, key=lambda c: (order[c.change], c.step))


def _where(workflow: Any, change: StepChange) -> Where:
    if change.change == "added":
        return "not reached"
    states = [t.state for t in workflow.tasks.values() if t.task_spec.name == change.step]
    if any(state & LIVE for state in states):
        return "waiting"
    if any(state & TaskState.COMPLETED for state in states):
        return "done"
    return "not reached"


class Migrator:
    """Plans, makes and undoes moves of instances between versions, on the engine's records."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- planning ----------------------------------------------------------------------------
    def plan(self, uow: UnitOfWork, instance: ProcessInstance, target: LoadedDefinition) -> InstancePlan:
        """A dry run: what moving `instance` to `target` changes and whether it can move; writes nothing."""
        return self._move(uow, instance, target)[0]

    def _fresh(self, uow: UnitOfWork, instance: ProcessInstance) -> tuple[str, Any]:
        """The stored state and a workflow restored from it (never the engine's in-memory copy: the
        move changes the copy's specs)."""
        table = table_of(ProcessInstance)
        state = uow.connection.execute(select(table.c.state_json).where(table.c.id == instance.id)).scalar_one()
        self.engine.library.by_id(uow, instance.definition_id)  # its spec is known before it is loaded
        return state, spiff.load_state(state, spiff.ServiceBindingEngine())

    def _move(self, uow: UnitOfWork, instance: ProcessInstance,
              target: LoadedDefinition) -> tuple[InstancePlan, Any, str]:
        """Move a restored copy of the instance to `target`: (the plan, the moved workflow or None when
        it cannot move, the state it was restored from)."""
        current = self.engine.library.by_id(uow, instance.definition_id)
        state, workflow = self._fresh(uow, instance)
        incident = ((instance.incident or {}).get("task") or "a step") if instance.status == "incident" else None
        with spiff.using_clock(uow.now):
            plan, moved = move_workflow(workflow, current, target, instance_id=instance.id, outcome=instance.outcome,
                                        incident=incident)
        return plan, moved, state

    # ---- moving --------------------------------------------------------------------------------
    def migrate(self, uow: UnitOfWork, instance: ProcessInstance, target: LoadedDefinition, actor: Actor,
                reason: str) -> Moved:
        """Move `instance` to `target` in the caller's transaction: its definition, its state (saved as
        the engine saves a step, with its timers and waits), its open human-task rows and one audit
        event. `MigrationRefused` when it cannot move (nothing written)."""
        plan, workflow, state_before = self._move(uow, instance, target)
        if workflow is None:
            raise MigrationRefused(plan)
        from_definition = instance.definition_id
        tasks_before = self._open_rows(uow, instance.id)
        self._write_definition(uow, instance, target.id)
        self.engine.save(uow, instance, workflow)
        updates = self._reproject(uow, instance, workflow, target)
        uow.audit(actor, "process_migrated", instance_id=instance.id,
                  subject=f"{instance.subject_type}:{instance.subject_id}",
                  before={"version": plan.from_version, "definition_id": from_definition},
                  after={"version": plan.to_version, "definition_id": target.id, "reason": reason,
                         "changes": [_change_json(c) for c in plan.changes], "tasks": updates})
        return Moved(plan, from_definition, state_before, tasks_before, instance.lock_version, updates)

    def restore(self, uow: UnitOfWork, instance: ProcessInstance, definition: LoadedDefinition, state: str,
                tasks: list[dict[str, Any]], actor: Actor, reason: str) -> None:
        """Put back the definition, state and open human-task rows `instance` had before a move (the
        caller checks that it has not moved on since): the rows the move changed are restored, a row
        opened since is cancelled."""
        to_version = self.engine.library.by_id(uow, instance.definition_id).version
        workflow = spiff.load_state(state, spiff.ServiceBindingEngine())
        for row in tasks:
            uow.session.execute(update(HumanTask).where(HumanTask.id == row["id"]).values(
                {k: v for k, v in row.items() if k != "id"}))
        self._write_definition(uow, instance, definition.id)
        self.engine.save(uow, instance, workflow)
        uow.audit(actor, "process_migration_rolled_back", instance_id=instance.id,
                  subject=f"{instance.subject_type}:{instance.subject_id}",
                  before={"version": to_version}, after={"version": definition.version,
                                                         "definition_id": definition.id, "reason": reason})

    # ---- the engine's records ------------------------------------------------------------------
    @staticmethod
    def _write_definition(uow: UnitOfWork, instance: ProcessInstance, definition_id: int) -> None:
        """Point the instance at another definition, guarded by its lock version as every save is."""
        table = table_of(ProcessInstance)
        loaded = instance.lock_version
        changed = uow.connection.execute(update(table).where(
            table.c.id == instance.id, table.c.lock_version == loaded).values(
            definition_id=definition_id, lock_version=loaded + 1)).rowcount
        if changed != 1:
            from sqlalchemy.orm.exc import StaleDataError

            raise StaleDataError(f"process instance {instance.id} was changed by someone else since it was loaded")
        set_committed_value(instance, "definition_id", definition_id)
        set_committed_value(instance, "lock_version", loaded + 1)

    @staticmethod
    def _open_rows(uow: UnitOfWork, instance_id: int) -> list[dict[str, Any]]:
        """The instance's open human-task rows, as a rollback puts them back."""
        names = ("id", "task_spec", "name", "lane", "role", "partnership_id", "assignee_id", "status",
                 "completed_at", "completed_by")
        table = table_of(HumanTask)
        rows = uow.connection.execute(select(*[table.c[n] for n in names]).where(
            table.c.instance_id == instance_id, table.c.status == "open").order_by(table.c.id))
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _reproject(self, uow: UnitOfWork, instance: ProcessInstance, workflow: Any,
                   target: LoadedDefinition) -> list[dict[str, Any]]:
        """The open rows of tasks whose step changed take its new id, name, lane and role (a task that
        changes role is given back to its new team: its claim is let go)."""
        ready = {str(t.id): t for t in spiff.manual_ready_tasks(workflow)}
        updates = []
        for row in uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                                HumanTask.status == "open")):
            task = ready.get(row.task_guid)
            if task is None:
                continue
            info = target.user_tasks.get(task.task_spec.name, {})
            lane = (info.get("lane") or "").strip()
            new = {"task_spec": task.task_spec.name, "name": info.get("label") or task.task_spec.name, "lane": lane,
                   "role": LANE_ROLES.get(lane.lower(), lane.lower() or "officer")}
            if new["role"] != row.role:
                new["assignee_id"] = None
            old = {k: getattr(row, k) for k in new}
            if old != new:
                for key, value in new.items():
                    setattr(row, key, value)
                updates.append({"human_task": row.id, "before": old, "after": new})
        return updates


def move_workflow(workflow: Any, current: LoadedDefinition, target: LoadedDefinition, *, instance_id: int = 0,
                  outcome: str | None = None, incident: str | None = None) -> tuple[InstancePlan, Any | None]:
    """Move `workflow` — restored from the state of an instance of `current`, and changed by this — to
    `target`: (the plan, the moved workflow or None when it cannot move, the plan's reasons saying
    why). `incident` names the failed step of an instance with an open incident."""
    plan = InstancePlan(instance_id, current.process_id, current.version, target.version)
    plan.waiting_on = sorted({t.task_spec.name for t in workflow.tasks.values()
                              if t.state & LIVE and _is_element(t.task_spec)})
    if target.process_id != current.process_id:
        plan.reasons.append(f"version {target.version} is a version of process '{target.process_id}', "
                            f"the instance runs '{current.process_id}'")
        return plan, None
    plan.changes = [InstanceChange(c, _where(workflow, c)) for c in version_changes(current, target)]
    if target.id == current.id:
        plan.reasons.append(f"it already runs version {target.version}")
    if spiff.is_completed(workflow):
        plan.reasons.append(f"it has ended ({outcome or 'completed'})")
    failed = next((t.task_spec.name for t in workflow.tasks.values() if t.state & FAILED), None)
    if incident is not None or failed is not None:
        plan.reasons.append(f"it has an open incident on {incident or failed}: retry it first")
    if plan.reasons:
        return plan, None
    return plan, _migrate(workflow, target, plan)


def _migrate(workflow: Any, target: LoadedDefinition, plan: InstancePlan) -> Any | None:
    """Spiff's diff and migration on `workflow` (a throwaway copy), then the checks that decide
    whether the result is an instance of `target`; the reasons it is not go into `plan`."""
    try:
        diff, subprocess_diffs = diff_workflow(_REGISTRY, workflow, target.spec, target.subprocess_specs)
    except Exception as err:  # Spiff's alignment of two unrelated versions can fail in many ways
        plan.reasons.append(f"the two versions could not be aligned ({type(err).__name__}: {err})")
        return None
    if subprocess_diffs:
        plan.reasons.append("it runs subprocesses, which this engine does not migrate")
    for task in diff.removed:
        if task.state & LIVE:
            plan.reasons.append(f"it waits on '{_label(task.task_spec)}' ({task.task_spec.name}), which "
                                f"version {target.version} does not have")
        elif task.state & SETTLED and _is_element(task.task_spec):
            plan.reasons.append(f"its history holds '{_label(task.task_spec)}' ({task.task_spec.name}), "
                                f"which version {target.version} does not have")
    for task in workflow.tasks.values():
        aligned = diff.alignment.get(task)
        if task.state & LIVE and aligned is not None and type(aligned) is not type(task.task_spec):
            plan.reasons.append(f"the step it waits on, '{_label(task.task_spec)}' ({task.task_spec.name}), "
                                f"becomes a {_kind(aligned)} in version {target.version}")
    if plan.reasons:
        return None
    reset = {t.id: (t.task_spec, copy.deepcopy(t.data), copy.deepcopy(t.internal_data))
             for t in workflow.tasks.values() if t.state & (TaskState.READY | TaskState.WAITING)}
    migrate_workflow(diff, workflow, target.spec)
    workflow.subprocess_specs = target.subprocess_specs
    _carry_state(workflow, reset)
    spiff.set_spec_key(workflow, target.key)
    foreign = sorted({t.task_spec.name for t in workflow.tasks.values()
                      if workflow.spec.task_specs.get(t.task_spec.name) is not t.task_spec})
    if foreign:
        plan.reasons.append(f"steps {', '.join(foreign)} would have no place in version {target.version}")
        return None
    try:  # what is saved must load again, as the new version
        spiff.load_state(spiff.dump_state(workflow), spiff.ServiceBindingEngine())
    except Exception as err:
        plan.reasons.append(f"its state could not be carried over ({type(err).__name__}: {err})")
        return None
    return workflow


def _carry_state(workflow: Any, before: dict[Any, tuple[Any, dict[str, Any], dict[str, Any]]]) -> None:
    """Give the READY and WAITING tasks Spiff reset their own data back (the reset gives them their
    parent's: a waiting join, which gathers its branches' data, would start again from it), and what
    they had recorded (when a timer fires, which events it has seen) where their event is the same in
    both versions: a timer keeps its moment."""
    for task_id, (old_spec, data, internal) in before.items():
        task = workflow.tasks.get(task_id)
        if task is None or not task.state & (TaskState.READY | TaskState.WAITING):
            continue
        task.data = data
        old_event = getattr(old_spec, "event_definition", None)
        new_event = getattr(task.task_spec, "event_definition", None)
        if not internal or old_event is None or new_event is None or type(old_event) is not type(new_event):
            continue
        if _REGISTRY.convert(old_event) == _REGISTRY.convert(new_event):
            task.internal_data = internal


def _change_json(change: InstanceChange) -> dict[str, Any]:
    c = change.change
    found: dict[str, Any] = {"step": c.step, "label": c.label, "kind": c.kind, "change": c.change, "where": change.where}
    if c.fields:
        found["fields"] = list(c.fields)
    if c.to_step:
        found["to_step"] = c.to_step
    if c.to_label:
        found["to_label"] = c.to_label
    return found


def plan_json(plan: InstancePlan) -> dict[str, Any]:
    """A plan as plain data (for the audit trail and the services' output models)."""
    return {"instance_id": plan.instance_id, "process": plan.process_id, "from_version": plan.from_version,
            "to_version": plan.to_version, "can_move": plan.can_move, "reasons": list(plan.reasons),
            "waiting_on": list(plan.waiting_on), "changes": [_change_json(c) for c in plan.changes]}
