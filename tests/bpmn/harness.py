"""Drive the BPMN processes with SpiffWorkflow alone, saving and restoring the instance at every step.

* service tasks answer from a script of dicts per operation (merged into the task data, as the real
  engine does);
* user tasks are completed with data validated by ``tasks.forms.validate_form``;
* time is a :class:`Clock` patched into SpiffWorkflow's timer module, so ``"P7D"`` timers and dates
  computed by services can be passed by advancing the clock;
* after every step the workflow is serialized, deserialized and the script engine re-attached, and
  the run continues with the restored instance.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from tasks.forms import validate_form

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
BPMN_FILES = sorted(BPMN_DIR.glob("*.bpmn"))
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

Answer = dict[str, Any] | Callable[[], dict[str, Any]]


@cache
def parser() -> SpiffBpmnParser:
    """All of bpmn/*.bpmn, parsed once and validated against the BPMN + SpiffWorkflow schemas."""
    bpmn_parser = SpiffBpmnParser(validator=VALIDATOR)
    bpmn_parser.add_bpmn_files([str(f) for f in BPMN_FILES])
    return bpmn_parser


class Clock:
    """The time SpiffWorkflow's timers see (patched in by the ``clock`` fixture)."""

    def __init__(self, now: datetime = START):
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def iso(self, **delta: float) -> str:
        """ISO-8601 datetime `delta` from now, with timezone, as services store it."""
        return (self.now + timedelta(**delta)).isoformat()

    def install(self, monkeypatch) -> None:
        clock = self

        class ClockDateTime(datetime):
            @classmethod
            def now(cls, tz=None):
                return clock.now if tz is None else clock.now.astimezone(tz)

        monkeypatch.setattr(timer_module, "datetime", ClockDateTime)


class ScriptedEngine(PythonScriptEngine):
    """Answers service tasks from a script: operation -> answer, or a list of successive answers.

    The last answer of a list is repeated; an answer may be a callable (evaluated when the task runs,
    e.g. to compute dates from the clock); an operation without a script answers ``{}``.
    """

    def __init__(self, answers: dict[str, Answer | list[Answer]]):
        super().__init__()
        self.answers = {op: list(a) if isinstance(a, list) else [a] for op, a in answers.items()}
        self.calls: list[str] = []

    def call_service(self, task, operation_name, operation_params):
        queue = self.answers.get(operation_name) or [{}]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        result = dict(answer() if callable(answer) else answer)
        self.calls.append(operation_name)
        task.data.update(result)
        return json.dumps(result)


class Run:
    """One process instance driven step by step."""

    def __init__(self, process_id: str, start_data: dict[str, Any], answers: dict[str, Answer | list[Answer]]):
        bpmn_parser = parser()
        spec = bpmn_parser.get_spec(process_id)
        subprocess_specs = bpmn_parser.get_subprocess_specs(process_id)
        self.engine = ScriptedEngine(answers)
        self.workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.engine)
        self.workflow.get_next_task(state=TaskState.READY).data.update(start_data)
        self.restores = 0
        self._settle()

    # ------------------------------------------------------------------ steps

    def _settle(self) -> None:
        """Run the engine, then continue with a serialized-and-restored copy of the instance."""
        self.workflow.do_engine_steps()
        offered = self.offered
        state = SERIALIZER.serialize_json(self.workflow)
        restored = SERIALIZER.deserialize_json(state)
        restored.script_engine = self.engine
        self.workflow = restored
        self.restores += 1
        assert self.offered == offered, "the restored instance offers other tasks than the saved one"
        for name in offered:
            self.assignment(name)   # every offered task can be routed to a partnership
        # what `cxp doctor` looks for in the database: a running instance with no task a person can
        # do, no timer and no message to wait for would never move again
        assert self.finished or offered or self.waiting_for, (
            f"stuck: not finished, no task offered and nothing awaited after {self.calls()[-3:]}")

    def complete(self, name: str, **form: Any) -> None:
        """Submit the form of the offered user task `name` (validated like the web form does)."""
        data = validate_form(name, form)
        task = self.task(name)
        task.data.update(data)
        task.run()
        self._settle()

    def send(self, message: str, **payload: Any) -> None:
        """Deliver a message as the engine does (raises WorkflowException if nobody waits for it).

        Like ``workflows.engine.spiff.send_message``, the payload is stored in the message variable
        and also put flat in the data of the catching task.
        """
        before = {t.id for t in self.workflow.get_tasks(state=TaskState.READY)}
        self.workflow.send_event(BpmnEvent(MessageEventDefinition(message), payload=payload))
        for task in self.workflow.get_tasks(state=TaskState.READY):
            if task.id not in before and getattr(task.task_spec, "event_definition", None) is not None:
                task.data.update(payload)
        self._settle()

    def wait(self, clock: Clock, **delta: float) -> None:
        """Let time pass and fire the timers that are due."""
        clock.advance(**delta)
        self.workflow.refresh_timers()
        self._settle()

    # ------------------------------------------------------------ inspection

    @property
    def offered(self) -> list[str]:
        """Ids of the user tasks a person can complete now, sorted."""
        return sorted(t.task_spec.name for t in self.workflow.get_tasks(state=TaskState.READY, manual=True))

    def task(self, name: str):
        tasks = self.workflow.get_tasks(state=TaskState.READY, manual=True, spec_name=name)
        assert len(tasks) == 1, f"{name} is not offered (offered: {self.offered})"
        return tasks[0]

    def assignment(self, name: str) -> dict[str, Any]:
        """Lane, partnership and due date of an offered user task, evaluated as the engine does."""
        task = self.task(name)
        properties = task.task_spec.extensions.get("properties", {})
        engine = self.workflow.script_engine
        result = {"lane": task.task_spec.lane, "partnership": engine.evaluate(task, properties["partnership"])}
        if "due" in properties:
            result["due"] = engine.evaluate(task, properties["due"])
        return result

    @property
    def waiting_for(self) -> list[str]:
        """Names of the messages and timers the instance waits for, sorted."""
        names = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            # An event-based gateway waits with one definition holding those of its events.
            for event in getattr(definition, "event_definitions", [definition]):
                if event is not None:
                    names.append(event.name)
        return sorted(names)

    @property
    def ends(self) -> list[str]:
        """Ids of the end events reached, in the order they were reached."""
        done = [t for t in self.workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name.startswith("end_")]
        return [t.task_spec.name for t in sorted(done, key=lambda t: t.last_state_change)]

    @property
    def finished(self) -> bool:
        return self.workflow.is_completed()

    def calls(self) -> list[str]:
        return list(self.engine.calls)


CERTIFICATE = {"kind": "attendance_certificate", "filename": "certificate.pdf", "sha256": "ab" * 32, "size": 120_000}

#: Valid data for the form of every user task (tests/tasks/test_forms.py checks it covers all of them).
GOOD_FORMS: dict[str, dict[str, Any]] = {
    "assess_application": {"decision": "approve"},
    "provide_information": {"information": "Our cluster profile is on the ECCP since 2019."},
    "visitor_accept_match": {"accept": True},
    "host_accept_match": {"accept": True},
    "agree_commitment": {
        "arrival": "2025-05-05",
        "departure": "2025-05-10",
        "activities": [
            {"kind": "joint_learning_event", "title": "Digital twins training", "on": "2025-05-06"},
            {"kind": "matchmaking", "title": "B2B meetings"},
            {"kind": "study_visit", "title": "Visit of the smart factory lab", "on": "2025-05-08"},
        ],
        "agenda": "Day 1 training, day 2 B2B, day 3 study visit.",
    },
    "sign_commitment_visitor": {"signed": True, "signatory_name": "Ana Visitor"},
    "sign_commitment_host": {"signed": True, "signatory_name": "Hugo Host"},
    "sign_commitment_visitor_officer": {"signed": True, "signatory_name": "Olga Officer"},
    "sign_commitment_host_officer": {"signed": True, "signatory_name": "Otto Officer"},
    "host_consent_extension": {"consent": True},
    "decide_extension": {"approve": True},
    "submit_evidence": {
        "attended_days": ["2025-05-06", "2025-05-07", "2025-05-08", "2025-05-09"],
        "documents": [CERTIFICATE, {"kind": "boarding_pass", "filename": "bp.pdf", "sha256": "cd" * 32, "size": 1}],
        "activities_done": ["Joint Learning Event", "B2B matchmaking", "Study visit"],
        "feedback_rating": 5,
        "travel_costs": "320.40",
    },
    "validate_evidence": {"decision": "accept"},
    "approve_payment": {"decision": "approve"},
    "correct_bank_details": {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "account_holder": "Cluster AB"},
    "verify_bank_details": {"verified": True},
    "prepare_call": {"confirm": True},
    "review_proposals": {"confirm": True, "drop_proposals": [7]},
    "approve_host": {"decision": "approve"},
    "assess_registration": {"decision": "approve"},
    "answer_registration_question": {"information": "We are members of Flanders Digital."},
}
