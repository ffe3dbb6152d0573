"""Everything that touches SpiffWorkflow's own API: parsing, the script engine that binds service
tasks to `tasks.registry`, the injected clock for timers, and a serializer that leaves the spec out.

This is the only module that uses SpiffWorkflow's private names (`INTERNALS`), each for a reason:
- `Task._state`, `Task._parent`, `Task._children`: the incremental serializer reads them as Spiff's own
  `to_dict` does, without the property calls (tests/workflows/test_state_serialization.py proves the
  text byte for byte equal to Spiff's);
- `Task._set_state`: an incident's retry makes the failed tasks ready again (`make_failed_tasks_ready`);
- `ParallelGateway._check_threshold_unstructured`: replaced by the fix for a parallel join inside a loop
  (bottom of this module; its xfail test shows the stock behaviour).
tests/workflows/test_library_internals.py fails by name when an upgrade removes one of them."""
from __future__ import annotations

import copy
import functools
import json
import os
import pickle
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import datetime, timezone
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from types import ModuleType
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

INTERNALS = ("SpiffWorkflow.task.Task._state", "SpiffWorkflow.task.Task._parent", "SpiffWorkflow.task.Task._children",
             "SpiffWorkflow.task.Task._set_state",
             "SpiffWorkflow.bpmn.specs.mixins.parallel_gateway.ParallelGateway._check_threshold_unstructured")

# --- the injected clock -------------------------------------------------------------------------
# Spiff's timer events call `datetime.now(timezone.utc)` inside their module. We give that module a
# datetime whose `now` asks the clock of the unit of work currently advancing the instance, so that
# simulated time (demo, tests) fires timers exactly as real time would.
_CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar("cxp_clock", default=None)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        source = _CLOCK.get()
        if source is None:
            return datetime.now(tz)
        moment = source()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


_timer_module.datetime = _ClockedDatetime


class using_clock:
    """Context manager: Spiff timers see `now()` while inside."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def __enter__(self) -> None:
        self._token = _CLOCK.set(self._now)

    def __exit__(self, *exc: Any) -> None:
        _CLOCK.reset(self._token)


# --- service tasks --------------------------------------------------------------------------------
ServiceCall = Callable[[Any, str, dict[str, Any]], dict[str, Any]]


@functools.lru_cache(maxsize=2048)
def _compiled_expression(expression: str) -> Any:
    return compile(expression, "<string>", "eval")  # the name `eval(str)` gives its errors


class CompiledExpressionEnvironment(TaskDataEnvironment):
    """Spiff's task-data environment, except that an expression (a gateway condition, a timer, a
    task property) is compiled once per process instead of at every evaluation."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        my_globals = copy.copy(self.globals)  # as TaskDataEnvironment.evaluate, the eval excepted
        self._prepare_context(context)
        my_globals.update(external_context or {})
        my_globals.update(context)
        return eval(_compiled_expression(expression), my_globals)


class ServiceBindingEngine(PythonScriptEngine):
    """Script engine whose service tasks call a Python function by operation name.

    `call_service` is overridden on the engine itself (not the environment), so that an error raised
    by a service surfaces as itself inside a `WorkflowTaskException`, not as a misleading NameError.
    The function's returned dict is merged into the task data (the result variable stays empty).
    """

    def __init__(self) -> None:
        super().__init__(environment=CompiledExpressionEnvironment({"datetime": datetime, "timezone": timezone}))
        self.dispatch: ServiceCall | None = None

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any], **_: Any) -> str:
        if self.dispatch is None:
            raise RuntimeError("no service dispatcher is attached to the script engine")
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        updates = self.dispatch(task, operation_name, params) or {}
        task.data.update(updates)
        # The updates are already in the task data; Spiff stores this return value once more under
        # the task's result variable, so return nothing rather than double every instance's state.
        return "null"


# --- parsing ----------------------------------------------------------------------------------------
def parse_bpmn(xml: bytes, filename: str) -> SpiffBpmnParser:
    """Parse (and validate against the BPMN XSD) one BPMN document."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(xml, filename)
    return parser


# --- serialization without the spec -----------------------------------------------------------------
class _SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the process spec out of the instance state and takes it from a cache on restore.

    Spiff's default serialization embeds the whole spec in every instance (most of its size and half
    of its load time); our specs are stored once per BPMN version in `process_definitions`.
    """

    specs: dict[str, tuple[Any, dict[str, Any]]] = {}

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = self.head_to_dict(workflow)
        dct["tasks"] = self.mapping_to_dict(workflow.tasks)
        return dct

    def head_to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """Everything but the task tree (what `WorkflowConverter.to_dict` writes, minus the spec)."""
        return {
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "root": str(workflow.task_tree.id),
            "spec_key": workflow.cxp_spec_key,
            "subprocesses": self.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": self.registry.convert(workflow.bpmn_events),
        }

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        key = dct.pop("spec_key")
        spec, subprocess_specs = self.specs[key]
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.cxp_spec_key = key
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _EncoderRegistry(DefaultRegistry):
    """Spiff's registry, always in its encoder mode: plain values are left to the JSON encoder (our
    dumps are all JSON text). Spiff switches a flag on the registry around each dump instead, which
    threads sharing the serializer would switch under each other's feet; here there is no mode to
    switch (setting the flag, as Spiff's `serialize_json` does, changes nothing), so the registry is
    immutable once built and safe to share."""

    @property
    def _encoder_mode(self) -> bool:
        return True

    @_encoder_mode.setter
    def _encoder_mode(self, value: bool) -> None:
        pass

    def convert(self, obj: Any) -> Any:
        return self._convert_for_encoder(obj)


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _SpecFreeWorkflowConverter
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config, _EncoderRegistry()))
# the registry's converter for our workflows (constructing one registers it, replacing its twin)
_HEAD_CONVERTER = _SpecFreeWorkflowConverter(BpmnWorkflow, _SERIALIZER.registry)
_WORKFLOW_TYPENAME = _SERIALIZER.registry.typenames[BpmnWorkflow]

# CXP_VERIFY_STATE=1 (the test suite sets it): every incremental dump is compared with a full one.
VERIFY_INCREMENTAL = os.environ.get("CXP_VERIFY_STATE") == "1"


def register_spec(key: str, spec: Any, subprocess_specs: dict[str, Any]) -> None:
    _SpecFreeWorkflowConverter.specs[key] = (spec, subprocess_specs)


def new_workflow(key: str, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    spec, subprocess_specs = _SpecFreeWorkflowConverter.specs[key]
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.cxp_spec_key = key
    return workflow


_ENCODER = _SERIALIZER._encoder_cls(separators=(",", ":"))
# The C encoder behind `_ENCODER.encode`, made once rather than at every call (no circular-reference
# check: instance data is a tree). Same text as `_ENCODER.encode`.
_C_ENCODER = c_make_encoder(None, _ENCODER.default, encode_basestring_ascii, None, ":", ",", False, False, True)


def _encode(value: Any) -> str:
    return "".join(_C_ENCODER(value, 0))


def _sid(task: Any) -> str:
    """The task's id as text, kept on the task (a UUID's `str` is a slow pure-Python call)."""
    sid = task.__dict__.get("cxp_sid")
    if sid is None:
        sid = task.__dict__["cxp_sid"] = str(task.id)
    return sid


def _children_json(task: Any, texts: dict[int, tuple[Any, str]]) -> str:
    """The JSON list of the task's children ids. Their text is kept in `texts` by the identity of the
    UUID object (a UUID's `str` and its hash are slow pure-Python calls); each entry holds its UUID, so
    that identity cannot be reused while the entry lives."""
    parts = []
    for child in task._children:
        hit = texts.get(id(child))
        if hit is None or hit[0] is not child:
            hit = texts[id(child)] = (child, str(child))
        parts.append(hit[1])
    return '["' + '","'.join(parts) + '"]' if parts else "[]"


@functools.lru_cache(maxsize=256)
def _keys_json(keys: tuple[str, ...]) -> str:
    return _encode(list(keys))


def _task_json(task: Any, texts: dict[int, tuple[Any, str]]) -> str:
    """One task as Spiff's `TaskConverter.to_dict` writes it (in encoder mode), built directly: data
    as the delta from the parent's, callables left out of the internal data. A task with no data of
    its own (most are predicted ones, several new at every step) is written from a template: its
    delta deletes all of its parent's keys."""
    parent = task.parent
    head = (f'{{"id":"{_sid(task)}","parent":' + (f'"{_sid(parent)}"' if parent is not None else "null")
            + ',"children":' + _children_json(task, texts) + ",")
    changed = task.last_state_change
    if parent is not None and not task.data and not task.internal_data and type(changed) is float:
        return (f'{head}"last_state_change":{changed!r},"state":{task._state},'
                f'"task_spec":{encode_basestring_ascii(task.task_spec.name)},'
                f'"triggered":{"true" if task.triggered else "false"},"internal_data":{{}},"data":{{}},'
                f'"delta":{{"updates":{{}},"deletions":{_keys_json(tuple(parent.data))}}},"typename":"Task"}}')
    if parent is None:
        data, delta = task.data, {}
    else:
        mine, theirs = task.data, parent.data
        data = {}
        delta = {"updates": {k: v for k, v in mine.items() if k not in theirs or v != theirs[k]},
                 "deletions": [k for k in theirs if k not in mine]}
    internal = {k: v for k, v in task.internal_data.items() if not callable(v) and not isinstance(v, ModuleType)}
    return head + _encode({
        "last_state_change": changed, "state": task._state, "task_spec": task.task_spec.name,
        "triggered": task.triggered, "internal_data": internal, "data": data, "delta": delta, "typename": "Task",
    })[1:]


def _full_state(workflow: BpmnWorkflow) -> str:
    dct = _SERIALIZER.to_dict(workflow)
    dct[_SERIALIZER.VERSION_KEY] = _SERIALIZER.VERSION
    return _encode(dct)


_SETTLED = 64 | 256  # TaskState.COMPLETED | TaskState.CANCELLED


def _fragment_key(task: Any) -> tuple[Any, ...] | None:
    """What a task's serialized form depends on beyond what never changes (its id, parent and spec),
    or None when it must be encoded every time.

    * A settled (completed or cancelled) task changes only when Spiff drops or adds its children — or
      when its parent's data changes, since its own data is written as a delta from its parent's.
      Under a parent still open it is encoded every time; under a settled one the parent's data is
      watched by identity and size: Spiff adds keys to a settled parent's data in place (the split of
      a boundary event gains the data of the task it guards when that task runs, seen in the demo).
    * A task with no data of its own (a predicted one, mostly) is written as the keys it does not take
      from its parent, so it depends on those keys only.
    """
    state = task._state
    if state & _SETTLED:
        parent = task.workflow.tasks.get(task._parent) if task._parent is not None else None
        if parent is None:
            return (state, task.last_state_change, tuple(task._children))
        if not parent._state & _SETTLED:
            return None
        return (state, task.last_state_change, tuple(task._children), id(parent.data), len(parent.data))
    if not task.data and not task.internal_data and task._parent is not None:
        parent = task.workflow.tasks.get(task._parent)
        if parent is not None:
            return (state, task.last_state_change, tuple(task._children), task.triggered, tuple(parent.data))
    return None


def _own_copy(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of task data: through pickle (C, several times faster than `copy.deepcopy` on plain
    data), else `copy.deepcopy`."""
    try:
        return pickle.loads(pickle.dumps(data, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own data
    except Exception:  # something pickle cannot copy
        return copy.deepcopy(data)


def _task_fragments(workflow: BpmnWorkflow) -> list[str]:
    """`"<task id>":{task}` for every task. Fragments whose inputs did not change (`_fragment_key`)
    are kept on the in-memory workflow, so a step re-encodes only the tasks it touched instead of the
    whole tree (fifty to a hundred tasks)."""
    # keyed by the Task object itself: its hash is the C identity hash, a UUID's is a Python call
    cache: dict[Any, tuple[Any, str]] = workflow.__dict__.setdefault("cxp_fragments", {})
    texts: dict[int, tuple[Any, str]] = workflow.__dict__.setdefault("cxp_uuid_texts", {})
    parts = []
    for task in workflow.tasks.values():
        key = _fragment_key(task)
        if key is not None:
            hit = cache.get(task)
            if hit is not None and hit[0] == key:
                parts.append(hit[1])
                continue
        if key is not None and task._state & _SETTLED and "cxp_own_data" not in task.__dict__:
            # Spiff's joins merge nested values by reference, so a finished task's data can share
            # lists and dicts that a later merge changes in place: a finished task keeps its own copy,
            # as its encoded fragment does.
            task.data = _own_copy(task.data)
            task.__dict__["cxp_own_data"] = True
        fragment = f'"{_sid(task)}":{_task_json(task, texts)}'
        if key is not None:
            cache[task] = (key, fragment)
        parts.append(fragment)
    if len(cache) > len(workflow.tasks):  # tasks Spiff removed from the tree
        live = set(workflow.tasks.values())
        for gone in [task for task in cache if task not in live]:
            del cache[gone]
    if len(texts) > 2 * len(workflow.tasks):  # ids of tasks Spiff removed
        texts.clear()
    return parts


def dump_state(workflow: BpmnWorkflow) -> str:
    """The instance state as JSON text, without the spec, in Spiff's own format (its encoder mode:
    plain values are left to the C JSON encoder instead of being converted one by one), built
    incrementally: see `_task_fragments`. Safe from several threads at once, each on its own
    workflow: the serializer is shared but never changed (`_EncoderRegistry`)."""
    head = _HEAD_CONVERTER.head_to_dict(workflow)
    head["typename"] = _WORKFLOW_TYPENAME
    head[_SERIALIZER.VERSION_KEY] = _SERIALIZER.VERSION
    text = _encode(head)[:-1] + ',"tasks":{' + ",".join(_task_fragments(workflow)) + "}}"
    if VERIFY_INCREMENTAL and json.loads(text) != json.loads(_full_state(workflow)):
        raise AssertionError("the incremental instance state differs from a full serialization")
    return text


def load_state(state_json: str, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    workflow = _SERIALIZER.from_dict(json.loads(state_json, cls=_SERIALIZER.json_decoder_cls))
    workflow.script_engine = script_engine
    return workflow


# Our processes have no call activities or subprocesses, so every task is in `workflow.tasks`: one
# pass over that dict is much cheaper than Spiff's tree walk (`get_tasks`) at every save.
def _tasks_in(workflow: BpmnWorkflow, state: int) -> list[Any]:
    return [t for t in workflow.tasks.values() if t.state == state]


_NOT_FINISHED = 63  # TaskState.NOT_FINISHED_MASK: MAYBE | LIKELY | FUTURE | WAITING | READY | STARTED


def is_completed(workflow: BpmnWorkflow) -> bool:
    """`workflow.is_completed()` without its depth-first walk through the finished part of the tree:
    the newest tasks are the likely unfinished ones, so they are looked at first. Like Spiff's, it
    marks the workflow completed once no task is left unfinished."""
    if not workflow.completed:
        if any(t._state & _NOT_FINISHED for t in reversed(workflow.tasks.values())):
            return False
        workflow.completed = True
    return True


def manual_ready_tasks(workflow: BpmnWorkflow) -> list[Any]:
    from SpiffWorkflow.util.task import TaskState

    return [t for t in _tasks_in(workflow, TaskState.READY) if t.task_spec.manual]


def ready_manual_task(workflow: BpmnWorkflow, task_guid: str) -> Any | None:
    from SpiffWorkflow.util.task import TaskState

    try:
        task = workflow.tasks.get(UUID(task_guid))
    except ValueError:
        return None
    return task if task is not None and task.state == TaskState.READY and task.task_spec.manual else None


def make_failed_tasks_ready(workflow: BpmnWorkflow) -> None:
    """An incident's retry: every failed task runs again (SpiffWorkflow has no public call for it)."""
    from SpiffWorkflow.util.task import TaskState

    for task in list(error_tasks(workflow)):
        task._set_state(TaskState.READY)


def error_tasks(workflow: BpmnWorkflow) -> Iterable[Any]:
    from SpiffWorkflow.util.task import TaskState

    return _tasks_in(workflow, TaskState.ERROR)


def timer_datetime(value: str) -> datetime:
    """The moment a pending timer fires, from the value Spiff recorded for it."""
    return _timer_module.TimerEventDefinition.get_datetime(value)


def send_message(workflow: BpmnWorkflow, name: str, payload: dict[str, Any]) -> None:
    """Deliver message `name`; the payload is put in the catching task's data (flat) as well as in the
    message variable, so gateway conditions and later tasks can use its fields directly."""
    from SpiffWorkflow.bpmn import BpmnEvent
    from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
    from SpiffWorkflow.util.task import TaskState

    before = {t.id for t in workflow.get_tasks(state=TaskState.READY)}
    workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    for task in workflow.get_tasks(state=TaskState.READY):
        if task.id not in before and getattr(task.task_spec, "event_definition", None) is not None:
            task.data.update(payload)


TIMER_CLASSES = ("TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition")


def waiting(workflow: BpmnWorkflow) -> tuple[set[str], list[datetime]]:
    """Message names the instance waits for and the moments its pending timers fire.

    Walks the WAITING catch tasks, including event-based gateways (whose events Spiff reports only
    as one anonymous `MultipleEventDefinition`)."""
    from SpiffWorkflow.util.task import TaskState

    messages: set[str] = set()
    timers: list[datetime] = []
    for task in _tasks_in(workflow, TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if definition is None:
            continue
        for each in getattr(definition, "event_definitions", None) or [definition]:
            kind = type(each).__name__
            if kind == "MessageEventDefinition":
                messages.add(each.name)
            elif kind in TIMER_CLASSES:
                if task.internal_data.get("event_value") is None:
                    each.has_fired(task)  # evaluates and records when the timer fires
                value = task.internal_data.get("event_value")
                if isinstance(value, dict):
                    value = value.get("next")
                if isinstance(value, str):
                    try:
                        timers.append(timer_datetime(value))
                    except ValueError:
                        continue
    return messages, timers


# --- a fix for SpiffWorkflow 3.2.0's parallel join inside a loop -------------------------------------
# `ParallelGateway._check_threshold_unstructured` also counts the join instances of earlier loop
# iterations (cancelled when that iteration's join fired), so after a declined match — which loops back
# to the two parallel answers — the next join fired after the first answer whenever the sides answered
# in the other order. The fix: when a completed instance of this join is an ancestor of the task (we
# are in a later iteration), only join instances below the most recent such ancestor count; the first
# iteration is judged exactly as 3.2.0 does. (bpmn/README.md; tests/bpmn and tests/workflows.)
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway as _ParallelGateway  # noqa: E402

STOCK_PARALLEL_JOIN = _ParallelGateway._check_threshold_unstructured


def _depth(task: Any) -> int:
    depth = 0
    while task.parent is not None:
        task, depth = task.parent, depth + 1
    return depth


def _parallel_join_per_iteration(self: Any, my_task: Any) -> bool:
    from SpiffWorkflow.util.task import TaskState

    tasks = my_task.workflow.get_tasks(spec_name=self.name)
    fired_before = [t for t in tasks if t.has_state(TaskState.COMPLETED) and my_task.is_descendant_of(t)]
    iteration = max(fired_before, key=_depth) if fired_before else None
    waiting_inputs = set(self.inputs)

    def remove_ancestor(task: Any) -> None:
        if task.task_spec in waiting_inputs:
            waiting_inputs.remove(task.task_spec)
        elif task.parent is not None:
            remove_ancestor(task.parent)

    for task in tasks:
        if iteration is not None and not task.is_descendant_of(iteration):
            continue  # a join instance of an earlier iteration
        if task.is_descendant_of(my_task):
            remove_ancestor(task)
        elif my_task.is_descendant_of(task):
            continue
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


_ParallelGateway._check_threshold_unstructured = _parallel_join_per_iteration


# --- moving an instance to another version (workflows/engine/migration.py) ---------------------------
def set_spec_key(workflow: BpmnWorkflow, key: str) -> None:
    """The instance now runs the spec stored under `key` (registered with `register_spec`): its state
    is saved under that key from now on."""
    workflow.cxp_spec_key = key
