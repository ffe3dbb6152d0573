"""The serializer is shared by every thread that saves or restores an instance (the HTTP API runs its
routes in a thread pool): dumping and loading different instances at the same time must give each the
text a single thread gives it.

Spiff's registry has a mode flag (`_encoder_mode`) that changes what its conversion leaves for the
JSON encoder; a value that both modes can write, but differently, shows which mode a dump ran in: a
callable nested in the data is written as `null` in encoder mode and dropped otherwise."""
from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.lifecycle import CANNED, FORMS, START
from workflows.engine import spiff

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "exchange.bpmn"
THREADS = 4
ROUNDS = 60


@pytest.fixture(scope="module")
def spec_key() -> str:
    parser = spiff.parse_bpmn(BPMN.read_bytes(), BPMN.name)
    spiff.register_spec("threads-exchange", parser.get_spec("exchange"), parser.get_subprocess_specs("exchange"))
    return "threads-exchange"


def exchange_after(spec_key: str, steps: int) -> Any:
    """A workflow of its own, driven `steps` user tasks into the exchange lifecycle."""
    engine = spiff.ServiceBindingEngine()
    engine.dispatch = lambda task, name, params: dict(CANNED.get(name, {}))
    workflow = spiff.new_workflow(spec_key, engine)
    for task in workflow.get_tasks():
        task.data.update({"exchange_id": steps, "visitor_partnership_id": 1, "host_partnership_id": 1,
                          "matching_deadline": CANNED["register_for_matching"]["matching_deadline"]})
    with spiff.using_clock(lambda: START):
        workflow.do_engine_steps()
        for step, form in FORMS[:steps]:
            if step.startswith("@"):
                spiff.send_message(workflow, step[1:], {"proposal_id": 1, "host_partnership_id": 1})
            else:
                task = next(t for t in spiff.manual_ready_tasks(workflow) if t.task_spec.name == step)
                task.data.update(form)
                task.run()
            workflow.do_engine_steps()
    workflow.data["helpers"] = {"callable": len, "step": steps}  # written differently by the two modes
    return workflow


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Threads take turns every few microseconds, so that their dumps overlap at every point."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_threads_dumping_and_loading_different_instances_each_get_their_single_threaded_text(
        spec_key: str, frequent_switches: None) -> None:
    workflows = [exchange_after(spec_key, steps) for steps in (0, 3, 6, 9)][:THREADS]
    expected = [spiff.dump_state(workflow) for workflow in workflows]
    assert all('"helpers":{"callable":null' in text for text in expected)
    start = threading.Barrier(THREADS)
    wrong: list[str] = []

    def work(index: int) -> None:
        workflow = workflows[index]
        start.wait(timeout=30)
        try:
            for _ in range(ROUNDS):
                if spiff.dump_state(workflow) != expected[index]:
                    wrong.append(f"instance {index}: its dump differs")
                restored = spiff.load_state(expected[index], spiff.ServiceBindingEngine())
                if json.loads(spiff.dump_state(restored)) != json.loads(expected[index]):
                    wrong.append(f"instance {index}: its restored copy dumps differently")
        except Exception as err:  # the check mode's own comparison (CXP_VERIFY_STATE=1) fails in a dump
            wrong.append(f"instance {index}: {type(err).__name__}: {err}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert wrong == []


def test_the_serializer_stays_in_encoder_mode_whatever_spiffworkflow_sets() -> None:
    """Spiff's own `serialize_json` sets the flag and resets it: our registry has no mode to change."""
    registry = spiff._SERIALIZER.registry
    registry._encoder_mode = False
    assert registry.convert({"nested": {"callable": len}}) == {"nested": {"callable": len}}
