"""The engine's one view of an instance's stored state, for the services that show it: which BPMN
elements it completed, which wait, which failed, and the data of its latest step.

Nothing outside `workflows/engine/` reads SpiffWorkflow's serialized format or its task-state numbers:
the web's diagram colours, the instance page's data and the audit file's diagram all come from here.
The state is the JSON text `spiff.dump_state` wrote (`process_instances.state_json`)."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# SpiffWorkflow's TaskState values (SpiffWorkflow.util.task), written out so that reading a state does not
# import SpiffWorkflow (the inbox's and the CLI's paths stay light); tests/workflows/test_state_view.py
# compares them with the library's, so that an upgrade that renumbers them fails loudly.
WAITING, READY, STARTED, COMPLETED, ERROR = 8, 16, 32, 64, 128
ACTIVE = (WAITING, READY, STARTED)
# Spiff's own task specs, which are no element of the diagram (and "X.EndJoin", "X.BoundaryEventSplit", …)
INTERNAL_SPECS = frozenset({"Start", "End", "Root"})


@dataclass(frozen=True)
class StateView:
    """What an instance's state shows a person: element ids in BPMN order-free sorted lists."""

    completed: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def read(state_json: str | None, incident: Mapping[str, Any] | None = None) -> StateView:
    """The view of a stored state (`None` or empty: an instance with no state yet). The incident's task,
    when there is one, counts as failed: Spiff marks a failed service task only until it is retried."""
    state: dict[str, Any] = json.loads(state_json) if state_json else {}
    tasks = _all_tasks(state)
    failed = [t.get("task_spec", "") for t in tasks if t.get("state") == ERROR]
    if incident and incident.get("task"):
        failed.append(str(incident["task"]))
    return StateView(
        completed=_element_ids(t.get("task_spec", "") for t in tasks if t.get("state") == COMPLETED),
        active=_element_ids(t.get("task_spec", "") for t in tasks if t.get("state") in ACTIVE),
        failed=_element_ids(failed), data=_latest_data(state.get("tasks") or {}))


def _all_tasks(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    tasks = list((state.get("tasks") or {}).values())
    for sub in (state.get("subprocesses") or {}).values():
        tasks += list((sub.get("tasks") or {}).values())
    return tasks


def _element_ids(names: Iterable[str]) -> list[str]:
    return sorted({n for n in names if n and n not in INTERNAL_SPECS and "." not in n})


def _latest_data(tasks: Mapping[str, Any]) -> dict[str, Any]:
    """The data of the most recent task, without the engine's own keys. Spiff stores a task's data as a
    delta to its parent's, so it is rebuilt from the root down."""
    latest = max(tasks.values(), key=lambda t: t.get("last_state_change", 0), default=None)
    chain = []
    while latest is not None:
        chain.append(latest)
        latest = tasks.get(latest.get("parent") or "")
    data: dict[str, Any] = {}
    for task in reversed(chain):
        delta = task.get("delta")
        if delta and task.get("parent"):
            data.update(delta.get("updates", {}))
            for key in delta.get("deletions", []):
                data.pop(key, None)
        else:
            data = dict(task.get("data", {}))
    return {k: v for k, v in data.items() if not k.startswith("spiff_") and not k.endswith("_result")}
