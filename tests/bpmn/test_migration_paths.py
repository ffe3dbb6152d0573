"""Every saved state of every BPMN path test, moved to a changed version of its process.

Each path test of tests/bpmn (exchange, call, hosting) is run once while recording what the harness
saves after every step, the step itself (a form, a message, time passing) and what each service
answered. Then, for every saved state, a copy restored from it is moved to the changed version of its
process (tests/bpmn/changes.py: a relabelled user task, an added milestone, a user task taken out) by
the engine's migration (`workflows.engine.migration.move_workflow`, SpiffWorkflow's diff and migration
behind it), and:

* if it moves: its data is kept, and the rest of the path is played on the new version — the same
  forms, messages and waits, the services answering as they did — and ends where the path ended (the
  same end events, tasks offered, events awaited, services called). A step on a user task the new
  version took out is not asked for any more, and is passed over;
* if it is refused: the reasons are exactly the ones expected of that state (it has ended; it waits
  on the task taken out; its history holds it), worked out here from the saved state itself.
"""
from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from tests.bpmn import harness, test_call_paths, test_exchange_paths, test_hosting_paths
from tests.bpmn.changes import REMOVED_USER_TASKS, changed_process
from tests.bpmn.harness import SERIALIZER, Clock, Run, ScriptedEngine
from workflows.engine import spiff
from workflows.engine.library import LoadedDefinition
from workflows.engine.migration import move_workflow

PREDICTED = TaskState.MAYBE | TaskState.LIKELY | TaskState.FUTURE
LABELS = {"host_consent_extension": "Consent to the extension", "review_proposals": "Review the proposals"}


@dataclass
class Saved:
    """One state the harness saved, and where the recording stood then."""

    state: str
    now: datetime
    calls: int    # services called before it
    actions: int  # actions done up to it (the one that led to it included)


@dataclass
class Recording:
    process_id: str = ""
    saved: list[Saved] = field(default_factory=list)
    actions: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    end: tuple[Any, ...] = ()


def _where_it_stands(run: Run) -> tuple[Any, ...]:
    return run.finished, run.ends, run.offered, run.waiting_for


def _path_tests() -> list[Any]:
    found = []
    for module in (test_exchange_paths, test_call_paths, test_hosting_paths):
        for name, fn in vars(module).items():
            marks = [m.name for m in getattr(fn, "pytestmark", [])]
            if name.startswith("test_") and inspect.isfunction(fn) and "xfail" not in marks:
                found.append(pytest.param(fn, id=f"{module.__name__.rsplit('_', 2)[-2]}::{name[5:]}"))
    return found


def record(path_test: Callable[..., None], clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Recording:
    """Run the path test, recording each saved state, each action and each service answer."""
    recording = Recording()
    settle, call_service = Run._settle, ScriptedEngine.call_service

    def settle_and_keep(run: Run) -> None:
        settle(run)
        recording.process_id = run.workflow.spec.name
        recording.saved.append(Saved(SERIALIZER.serialize_json(run.workflow), clock.now, len(run.engine.calls),
                                     len(recording.actions)))
        recording.end = _where_it_stands(run)

    def answer_and_keep(engine: ScriptedEngine, task: Any, operation_name: str, operation_params: Any) -> str:
        text = call_service(engine, task, operation_name, operation_params)
        recording.answers.append((operation_name, json.loads(text)))
        return text

    monkeypatch.setattr(Run, "_settle", settle_and_keep)
    monkeypatch.setattr(ScriptedEngine, "call_service", answer_and_keep)
    for kind in ("complete", "send", "wait"):
        monkeypatch.setattr(Run, kind, _recorded(kind, getattr(Run, kind), recording))
    arguments = {"clock": clock, "monkeypatch": monkeypatch}
    path_test(**{name: arguments[name] for name in inspect.signature(path_test).parameters})
    monkeypatch.undo()
    clock.install(monkeypatch)
    return recording


def _recorded(kind: str, method: Callable[..., None], recording: Recording) -> Callable[..., None]:
    def act(run: Run, *args: Any, **kwargs: Any) -> None:
        kept = args[1:] if kind == "wait" else args   # `wait` takes the clock first: replayed with ours
        recording.actions.append((kind, kept, kwargs))
        try:
            method(run, *args, **kwargs)
        except Exception:
            recording.actions.pop()   # a refused step (an invalid form, a message nobody waits for)
            recording.end = _where_it_stands(run)
            raise
    return act


class ReplayEngine(ScriptedEngine):
    """The services answer as they answered in the recorded path, in the same order."""

    def __init__(self, answers: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__({})
        self.queue = list(answers)

    def call_service(self, task: Any, operation_name: str, operation_params: Any) -> str:
        assert self.queue, f"{operation_name} was called, more services than in the recorded path"
        expected, result = self.queue.pop(0)
        assert operation_name == expected, f"{operation_name} called where the path called {expected}"
        self.calls.append(operation_name)
        task.data.update(result)
        return json.dumps(result)


def definitions(process_id: str, workflow: Any) -> tuple[LoadedDefinition, LoadedDefinition]:
    """The version a saved state runs and the changed version of its process."""
    current = LoadedDefinition(1, process_id, 1, f"path-test-{process_id}-v1", workflow.spec, workflow.subprocess_specs)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(changed_process(process_id), f"{process_id}.bpmn")
    key = f"path-test-{process_id}-v2"
    spec, subprocess_specs = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    spiff.register_spec(key, spec, subprocess_specs)
    return current, LoadedDefinition(2, process_id, 2, key, spec, subprocess_specs)


def expected_reasons(process_id: str, workflow: Any) -> list[str]:
    """What refuses the move of this saved state, worked out from the state itself."""
    if workflow.is_completed():
        return ["it has ended"]
    reasons = []
    for task in workflow.tasks.values():
        name = task.task_spec.name
        if name not in REMOVED_USER_TASKS[process_id] or task.state & PREDICTED:
            continue
        if task.state & (TaskState.READY | TaskState.WAITING):
            reasons.append(f"it waits on '{LABELS[name]}' ({name}), which version 2 does not have")
        else:
            reasons.append(f"its history holds '{LABELS[name]}' ({name}), which version 2 does not have")
    return reasons


def _data(workflow: Any) -> dict[str, Any]:
    return {str(t.id): t.data for t in workflow.tasks.values() if not t.state & PREDICTED}


def replay(recording: Recording, saved: Saved, moved: Any, clock: Clock) -> Run:
    """The rest of the recorded path, played on the moved workflow."""
    run = Run.__new__(Run)
    run.engine = ReplayEngine(recording.answers[saved.calls:])
    run.workflow, run.restores = moved, 0
    moved.script_engine = run.engine
    for kind, args, kwargs in recording.actions[saved.actions:]:
        if kind == "complete" and args[0] in REMOVED_USER_TASKS[recording.process_id]:
            assert args[0] not in run.offered
            continue   # the new version does not ask for it
        if kind == "wait":
            run.wait(clock, **kwargs)
        else:
            getattr(run, kind)(*args, **kwargs)
    assert run.engine.queue == [], "the path called fewer services on the new version"
    return run


@pytest.mark.parametrize("path_test", _path_tests())
def test_each_saved_state_moves_to_the_changed_version_and_finishes_its_path_or_is_refused_with_its_reason(
        path_test: Callable[..., None], clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    recording = record(path_test, clock, monkeypatch)
    assert recording.saved, "the path test saved no state"
    moved_count = 0
    for number, saved in enumerate(recording.saved):
        original = SERIALIZER.deserialize_json(saved.state)
        workflow = SERIALIZER.deserialize_json(saved.state)
        workflow.script_engine = original.script_engine = harness.ScriptedEngine({})
        clock.now = saved.now
        current, target = definitions(recording.process_id, workflow)
        plan, moved = move_workflow(workflow, current, target)

        expected = expected_reasons(recording.process_id, original)
        where = f"state {number} of {len(recording.saved)}"
        if expected:
            assert moved is None and not plan.can_move, f"{where}: moved, but {expected}"
            assert [r for r in plan.reasons if not r.startswith("it has ended")] == \
                [r for r in expected if r != "it has ended"], where
            assert any(r.startswith("it has ended") for r in plan.reasons) == ("it has ended" in expected), where
            continue
        assert moved is not None, f"{where}: refused: {plan.reasons}"
        assert moved.spec is target.spec and moved.data == original.data, where
        kept = _data(moved)
        assert all(kept[task] == data for task, data in _data(original).items() if task in kept), where
        run = replay(recording, saved, moved, clock)
        assert _where_it_stands(run) == recording.end, f"{where}: the path ended elsewhere on the new version"
        moved_count += 1
    # a path that does not end at once starts on a state that moves (nothing taken out is reached yet)
    assert moved_count >= 1 or len(recording.saved) == 1
