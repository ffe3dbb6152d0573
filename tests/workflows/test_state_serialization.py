"""The instance state is written incrementally: the fragments of settled tasks are kept on the
in-memory workflow and reused. Whatever the cache holds, the text must equal a full serialization and
restore to the same instance."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from benchmarks.lifecycle import CANNED, FORMS, START, VISIT_OVER
from workflows.engine import spiff

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "exchange.bpmn"


@pytest.fixture(scope="module")
def spec_key() -> str:
    parser = spiff.parse_bpmn(BPMN.read_bytes(), BPMN.name)
    spiff.register_spec("test-exchange", parser.get_spec("exchange"), parser.get_subprocess_specs("exchange"))
    return "test-exchange"


def steps(spec_key: str):  # type: ignore[no-untyped-def]
    """An exchange driven through its whole lifecycle; yields the live workflow after every step."""
    engine = spiff.ServiceBindingEngine()
    engine.dispatch = lambda task, name, params: dict(CANNED.get(name, {}))
    workflow = spiff.new_workflow(spec_key, engine)
    for task in workflow.get_tasks():
        task.data.update({"exchange_id": 1, "visitor_partnership_id": 1, "host_partnership_id": 1,
                          "matching_deadline": CANNED["register_for_matching"]["matching_deadline"]})
    now = [START]
    with spiff.using_clock(lambda: now[0]):
        workflow.do_engine_steps()
        yield workflow
        for step, form in FORMS:
            if step == "@visit_ends":
                now[0] = VISIT_OVER
                workflow.refresh_timers()
            elif step.startswith("@"):
                spiff.send_message(workflow, step[1:], {"proposal_id": 1, "host_partnership_id": 1})
            else:
                task = next(t for t in spiff.manual_ready_tasks(workflow) if t.task_spec.name == step)
                task.data.update(form)
                task.run()
            workflow.do_engine_steps()
            yield workflow


def full(workflow) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(spiff._full_state(workflow))


def test_every_incremental_state_equals_a_full_serialization_and_restores(spec_key: str, monkeypatch) -> None:
    monkeypatch.setattr(spiff, "VERIFY_INCREMENTAL", False)  # compare here, explicitly
    saves = 0
    for workflow in steps(spec_key):
        text = spiff.dump_state(workflow)
        assert json.loads(text) == full(workflow)
        restored = spiff.load_state(text, spiff.ServiceBindingEngine())
        assert full(restored) == full(workflow)
        saves += 1
    assert saves == len(FORMS) + 1
    assert workflow.is_completed()
    cache = workflow.cxp_fragments
    assert cache, "settled tasks were not kept"
    assert set(cache) <= set(workflow.tasks.values()), "fragments of removed tasks are dropped"


def test_a_settled_task_whose_children_change_is_encoded_again(spec_key: str, monkeypatch) -> None:
    monkeypatch.setattr(spiff, "VERIFY_INCREMENTAL", False)
    workflow = next(w for i, w in enumerate(steps(spec_key)) if i == 3)
    spiff.dump_state(workflow)
    settled = next(t for t in workflow.tasks.values() if t.state == TaskState.COMPLETED and t._children)
    settled._children.pop()  # what a join does to the join tasks of the other branches
    text = spiff.dump_state(workflow)
    assert json.loads(text) == full(workflow)
    assert json.loads(text)["tasks"][str(settled.id)]["children"] == [str(c) for c in settled._children]


def test_the_check_mode_catches_a_stale_fragment(spec_key: str, monkeypatch) -> None:
    workflow = next(w for i, w in enumerate(steps(spec_key)) if i == 3)
    monkeypatch.setattr(spiff, "VERIFY_INCREMENTAL", False)
    spiff.dump_state(workflow)
    settled = next(t for t in workflow.tasks.values() if t.state == TaskState.COMPLETED and t.parent is not None
                   and t.parent.state == TaskState.COMPLETED and t.data)  # cached: finished under finished
    # a settled task's data never changes; if a value did (its keys are watched), the cache would hide it
    settled.data[next(iter(settled.data))] = "tampered"
    assert "tampered" not in spiff.dump_state(workflow)
    monkeypatch.setattr(spiff, "VERIFY_INCREMENTAL", True)
    with pytest.raises(AssertionError, match="differs from a full serialization"):
        spiff.dump_state(workflow)


def test_is_completed_agrees_with_spiffworkflow_at_every_step(spec_key: str) -> None:
    answers = []
    for workflow in steps(spec_key):
        ours = spiff.is_completed(workflow)
        workflow.completed = False  # Spiff's own check, from scratch
        assert ours == workflow.is_completed()
        answers.append(ours)
    assert answers[-1] and not any(answers[:-1])  # only the last step ends the exchange


def test_every_task_is_written_byte_for_byte_as_spiffworkflow_encodes_it(spec_key: str) -> None:
    """The task fragments (the template for tasks without data of their own included) are the very
    text Spiff's converter and encoder give, at every step of a lifecycle."""
    from uuid import UUID

    compared = templated = 0
    for workflow in steps(spec_key):
        theirs = spiff._SERIALIZER.to_dict(workflow)["tasks"]  # its registry is always in encoder mode
        texts: dict = {}
        for guid, task_dict in theirs.items():
            task = workflow.tasks[UUID(guid)]
            assert spiff._task_json(task, texts) == spiff._encode(task_dict), task.task_spec.name
            compared += 1
            templated += bool(task.parent is not None and not task.data and not task.internal_data)
    assert compared > 500 and templated > 100
