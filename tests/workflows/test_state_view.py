"""The engine's one view of a stored instance state (workflows/engine/state_view.py): the task-state
numbers it reads are SpiffWorkflow's, and what it shows of a real instance is what the instance did."""
from __future__ import annotations

import json

from SpiffWorkflow.util.task import TaskState

from tests.workflows.builders import OFFICER, Programme, programme  # noqa: F401
from workflows.db.process_models import ProcessInstance
from workflows.engine import state_view


def test_the_task_state_numbers_are_spiffworkflows_own() -> None:
    """An upgrade of SpiffWorkflow that renumbers its task states fails here, not on a page."""
    assert (state_view.WAITING, state_view.READY, state_view.STARTED, state_view.COMPLETED, state_view.ERROR) == (
        TaskState.WAITING, TaskState.READY, TaskState.STARTED, TaskState.COMPLETED, TaskState.ERROR)


def test_a_running_exchange_shows_its_completed_and_waiting_steps_and_its_latest_data(
        programme: Programme) -> None:  # noqa: F811
    prog = programme.submit_visitor_application()
    with prog.app.uow() as uow:
        instance = uow.session.get(ProcessInstance, prog.instance_id)
        view = state_view.read(instance.state_json, instance.incident)
    assert {"start", "svc_check_eligibility", "gw_eligible"} <= set(view.completed)
    assert view.active == ["assess_application"]
    assert view.failed == []
    assert view.data["exchange_id"] and not any(k.startswith("spiff_") for k in view.data)
    assert not set(state_view.INTERNAL_SPECS) & set(view.completed)


def test_an_incident_marks_its_task_failed_and_no_state_is_an_empty_view() -> None:
    state = {"tasks": {"a": {"task_spec": "compute_grant", "state": TaskState.ERROR, "parent": None,
                             "data": {"x": 1, "spiff_internal": 2}, "last_state_change": 1},
                       "b": {"task_spec": "Start", "state": TaskState.COMPLETED, "parent": None}},
             "subprocesses": {"s": {"tasks": {"c": {"task_spec": "pay", "state": TaskState.READY}}}}}
    view = state_view.read(json.dumps(state), {"task": "queue_claim"})
    assert view.failed == ["compute_grant", "queue_claim"]
    assert view.completed == [] and view.active == ["pay"]
    assert view.data == {"x": 1}
    assert state_view.read(None) == state_view.StateView()
