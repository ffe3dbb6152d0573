"""The script engine compiles an expression once and evaluates it exactly as SpiffWorkflow's own
task-data environment does."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from workflows.engine import spiff

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "exchange.bpmn"
GLOBALS = {"datetime": datetime, "timezone": timezone}


@pytest.mark.parametrize("expression", [
    "host_partnership_id",
    "decision == 'approve' and amount > 100",
    "datetime.fromisoformat(due).astimezone(timezone.utc).isoformat()",
    "[k for k in sorted(flags) if flags[k]]",
])
def test_evaluates_as_spiffworkflow_does(expression: str) -> None:
    data = {"host_partnership_id": 3, "decision": "approve", "amount": 250, "due": "2027-03-28T18:00:00+01:00",
            "flags": {"b": True, "a": True, "c": False}}
    ours = spiff.CompiledExpressionEnvironment(dict(GLOBALS)).evaluate(expression, dict(data))
    assert ours == TaskDataEnvironment(dict(GLOBALS)).evaluate(expression, dict(data))


def test_compiles_an_expression_once_and_leaves_the_globals_clean() -> None:
    environment = spiff.CompiledExpressionEnvironment(dict(GLOBALS))
    spiff._compiled_expression.cache_clear()
    for n in range(5):
        assert environment.evaluate("n * 2", {"n": n}) == n * 2
    assert spiff._compiled_expression.cache_info().misses == 1
    assert "n" not in environment.globals  # task data never leaks into later evaluations


def test_a_failing_expression_still_names_itself() -> None:
    parser = spiff.parse_bpmn(BPMN.read_bytes(), BPMN.name)
    engine = spiff.ServiceBindingEngine()
    workflow = spiff.BpmnWorkflow(parser.get_spec("exchange"), parser.get_subprocess_specs("exchange"),
                                  script_engine=engine)
    task = workflow.get_tasks()[0]
    task.data["a"] = 1
    with pytest.raises(WorkflowTaskException, match="Error evaluating expression 'missing_name > 1'"):
        engine.evaluate(task, "missing_name > 1")
    with pytest.raises(WorkflowTaskException, match="Error evaluating expression 'a >'"):
        engine.evaluate(task, "a >")


@pytest.mark.parametrize("expression", [
    "host_partnership_id",  # a bare name in the task data: read directly
    "match['host_partnership_id']",
    "datetime",  # a bare name that is not task data: evaluated (a global here)
    "missing_name",  # not there yet: unknown
    "",
])
def test_a_task_property_is_what_evaluating_it_gives(expression: str) -> None:
    from types import SimpleNamespace

    from workflows.engine.runner import Engine

    data = {"host_partnership_id": 3, "match": {"host_partnership_id": 4}}
    workflow = SimpleNamespace(script_engine=spiff.ServiceBindingEngine())
    task = SimpleNamespace(data=data, task_spec=SimpleNamespace(name="probe"))
    expected = None
    if expression:
        try:
            expected = TaskDataEnvironment(dict(GLOBALS)).evaluate(expression, dict(data))
        except NameError:
            expected = None
    assert Engine._evaluate(workflow, task, expression) == expected


def test_a_bare_name_in_the_task_data_is_read_without_the_script_engine() -> None:
    from types import SimpleNamespace

    from workflows.engine.runner import Engine

    def no_evaluation(*_: object) -> None:
        raise AssertionError("evaluated")

    workflow = SimpleNamespace(script_engine=SimpleNamespace(evaluate=no_evaluation))
    task = SimpleNamespace(data={"visitor_partnership_id": 2})
    assert Engine._evaluate(workflow, task, "visitor_partnership_id") == 2


def test_a_task_property_naming_data_not_there_yet_is_unknown_without_evaluating_it() -> None:
    """Evaluating a missing name makes SpiffWorkflow build an exception with spelling suggestions: on
    the engine's path (four signature tasks due at `signatures_due`) that cost a fifth of a step."""
    from types import SimpleNamespace

    from workflows.engine.runner import Engine

    calls: list[str] = []
    workflow = SimpleNamespace(script_engine=SimpleNamespace(evaluate=lambda task, expr: calls.append(expr)))
    task = SimpleNamespace(data={"arrival": "2027-02-07"})
    assert Engine._evaluate(workflow, task, "signatures_due") is None
    assert Engine._evaluate(workflow, task, "arrival") == "2027-02-07"
    assert Engine._evaluate(workflow, task, "match['host_partnership_id']") is None and calls
    assert calls == ["match['host_partnership_id']"]
