"""The private names of SpiffWorkflow and SQLAlchemy the engine uses for speed (workflows/engine/spiff.py
and workflows/engine/orm_rows.py list them): an upgrade that removes or renames one fails here, by name,
before any instance runs into it."""
from __future__ import annotations

import importlib
from typing import Any

import pytest

from workflows.db.process_models import ProcessInstance
from workflows.engine import orm_rows, spiff


def _resolve(dotted: str) -> Any:
    """`package.module.Class.attribute` → the attribute (on the class, or on a live object for slots and
    instance attributes)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("name", [n for n in spiff.INTERNALS if not n.startswith("SpiffWorkflow.task.Task._")
                                  or n.endswith("_set_state")])
def test_each_private_spiffworkflow_function_the_engine_uses_is_there(name: str) -> None:
    assert callable(_resolve(name)), name


def test_the_private_task_attributes_the_serializer_reads_are_on_a_live_task() -> None:
    from pathlib import Path

    bpmn = Path(__file__).resolve().parents[2] / "bpmn" / "exchange.bpmn"
    parser = spiff.parse_bpmn(bpmn.read_bytes(), bpmn.name)
    spiff.register_spec("internals-exchange", parser.get_spec("exchange"), parser.get_subprocess_specs("exchange"))
    workflow = spiff.new_workflow("internals-exchange", spiff.ServiceBindingEngine())
    task = next(iter(workflow.get_tasks()))
    for name in (n.rsplit(".", 1)[1] for n in spiff.INTERNALS if n.startswith("SpiffWorkflow.task.Task._")
                 and not n.endswith("_set_state")):
        assert hasattr(task, name), f"SpiffWorkflow's Task has no {name} any more (see workflows/engine/spiff.py)"
    assert task._state == task.state and task._children == [c.id for c in task.children]


def test_the_sqlalchemy_loader_internal_builds_a_loaded_instance() -> None:
    from sqlalchemy.orm import configure_mappers

    import workflows.db  # noqa: F401 - every model, so that the mappers configure (as the engine does first)

    configure_mappers()
    assert orm_rows.INTERNALS == ("sqlalchemy.orm.Mapper.class_manager.new_instance",)
    assert callable(ProcessInstance.__mapper__.class_manager.new_instance)
    built = orm_rows.loaded_factory(ProcessInstance)({"id": 7, "status": "running"})
    assert isinstance(built, ProcessInstance) and (built.id, built.status) == (7, "running")
