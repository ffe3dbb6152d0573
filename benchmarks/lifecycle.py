"""Lifecycle throughput: exchanges driven from submission to `end_closed` per second.

*persisted*: through the product's own services (forms validated, permissions and R-4EYES checked,
rules applied, claims and audit events written, instance state saved after every step).
*in memory*: the same BPMN, the same user-task data, messages and timers, run by SpiffWorkflow alone
with canned service results and no persistence — the raw engine we are measured against.
"""
from __future__ import annotations

import hashlib
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from workflows.demo.data import BRUSSELS

START = datetime(2027, 1, 4, 9, 0, tzinfo=BRUSSELS)
ARRIVE, DEPART = date(2027, 3, 7), date(2027, 3, 13)
VISIT_OVER = datetime(2027, 3, 14, 9, tzinfo=BRUSSELS)

# The attendance certificate a closing report cites: uploaded for its exchange first (the product refuses a
# report citing a file it does not hold), so the product path stores it as a visitor's upload does.
CERTIFICATE = b"%PDF-1.4\n% attendance certificate\n%%EOF\n"

FORMS: list[tuple[str, dict[str, Any]]] = [
    ("assess_application", {"decision": "approve", "comment": "ok"}),
    ("@match_proposed", {}),
    ("visitor_accept_match", {"accept": True, "reason": None}),
    ("host_accept_match", {"accept": True, "reason": None}),
    ("agree_commitment", {"arrival": ARRIVE.isoformat(), "departure": DEPART.isoformat(), "agenda": "Agenda",
                          "activities": [{"kind": k, "title": k, "on": None}
                                         for k in ("joint_learning_event", "matchmaking", "study_visit")]}),
    ("sign_commitment_visitor", {"signed": True, "signatory_name": "V"}),
    ("sign_commitment_host", {"signed": True, "signatory_name": "H"}),
    ("sign_commitment_visitor_officer", {"signed": True, "signatory_name": "O1"}),
    ("sign_commitment_host_officer", {"signed": True, "signatory_name": "O2"}),
    ("@visit_ends", {}),
    ("submit_evidence", {"attended_days": [(ARRIVE + timedelta(days=d)).isoformat() for d in range(1, 6)],
                         "documents": [{"kind": "attendance_certificate", "filename": "a.pdf",
                                        "sha256": hashlib.sha256(CERTIFICATE).hexdigest(), "size": len(CERTIFICATE)}],
                         "activities_done": ["matchmaking"], "feedback_rating": 5}),
    ("validate_evidence", {"decision": "accept", "comment": "ok"}),
    ("approve_payment", {"decision": "approve", "comment": None}),
    ("@payment_confirmed", {}),
]

CANNED = {
    "check_eligibility": {"eligible": True, "eligibility_reasons": []},
    "record_match_answers": {"match_accepted": True},
    "check_commitment": {"commitment_ok": True, "arrival": ARRIVE.isoformat(), "departure": DEPART.isoformat(),
                         "signatures_due": datetime.combine(ARRIVE, datetime.min.time(), BRUSSELS).isoformat()},
    "start_visit": {"visit_end": datetime(2027, 3, 13, 18, tzinfo=BRUSSELS).isoformat()},
    "open_evidence_window": {"evidence_due_at": datetime(2027, 3, 28, 18, tzinfo=BRUSSELS).isoformat(),
                             "evidence_reminder_at": datetime(2027, 3, 23, 18, tzinfo=BRUSSELS).isoformat()},
    "compute_working_days": {"working_days": 5},
    "compute_grant": {"grant_zero": False, "grant_amount": "1100.00"},
    "commit_budget": {"budget_ok": True},
    "register_for_matching": {"matching_deadline": datetime(2027, 5, 1, tzinfo=UTC).isoformat()},
}


# what every exchange starts with (besides its `exchange_id`), in every run
START_DATA = {"visitor_partnership_id": 1, "host_partnership_id": 1,
              "matching_deadline": CANNED["register_for_matching"]["matching_deadline"]}


class InMemory:
    """SpiffWorkflow alone: the BPMN parsed once, then one exchange per `run`."""

    def __init__(self) -> None:
        from workflows.engine import spiff

        parser = spiff.parse_bpmn((Path(spiff.__file__).resolve().parents[2] / "bpmn" / "exchange.bpmn").read_bytes(),
                                  "exchange.bpmn")
        self.spec, self.subprocess_specs = parser.get_spec("exchange"), parser.get_subprocess_specs("exchange")

    def new_workflow(self, i: int) -> Any:
        """Exchange `i` created with the canned services and its start data."""
        from workflows.engine import spiff

        engine = spiff.ServiceBindingEngine()
        engine.dispatch = lambda task, name, params: dict(CANNED.get(name, {}))
        wf = spiff.BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=engine)
        for task in wf.get_tasks():
            task.data.update({**START_DATA, "exchange_id": i})
        return wf

    @staticmethod
    def step(wf: Any, step: str, form: dict[str, Any], now: list[datetime]) -> None:
        """One of FORMS on a live workflow (inside `using_clock(lambda: now[0])`), then engine steps."""
        from SpiffWorkflow.util.task import TaskState

        from workflows.engine import spiff

        if step == "@visit_ends":
            saved = now[0]
            now[0] = VISIT_OVER
            wf.refresh_timers()
            wf.do_engine_steps()
            now[0] = saved
        elif step.startswith("@"):
            spiff.send_message(wf, step[1:], {"proposal_id": 1, "host_partnership_id": 1})
            wf.do_engine_steps()
        else:
            task = next(t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == step)
            task.data.update(form)
            task.data[step] = dict(form)
            task.run()
            wf.do_engine_steps()

    def run(self, i: int) -> None:
        from workflows.engine import spiff

        now = [START]
        wf = self.new_workflow(i)
        with spiff.using_clock(lambda: now[0]):
            wf.do_engine_steps()
            for step, form in FORMS:
                self.step(wf, step, form, now)
        assert wf.is_completed(), "in-memory run did not reach the end"


def in_memory(n: int) -> dict[str, Any]:
    """SpiffWorkflow alone: parse once, then run n instances through the same steps."""
    runner = InMemory()
    started = time.perf_counter()
    for i in range(n):
        runner.run(i)
    elapsed = time.perf_counter() - started
    return {"exchanges": n, "seconds": round(elapsed, 3), "per_second": round(n / elapsed, 2)}


def persisted(database_url: str, n: int, files_dir: Path) -> dict[str, Any]:
    """The product: n exchanges through its services on a fresh database."""
    from benchmarks.programme import Programme

    programme = Programme(database_url, files_dir)
    started = time.perf_counter()
    programme.run(n, FORMS)
    elapsed = time.perf_counter() - started
    return {"exchanges": n, "seconds": round(elapsed, 3), "per_second": round(n / elapsed, 2),
            "closed": programme.closed(), "audit_ok": programme.audit_ok()}


def measure(fn: Any, *args: Any) -> dict[str, Any]:
    tracemalloc.start()
    try:
        result = fn(*args)
        result["peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()
    return result


__all__ = ["in_memory", "persisted", "engine_persisted", "interleaved", "measure", "Decimal"]


class _CannedContext:
    """The in-memory run's canned service answers, behind the persisted engine."""

    def __init__(self, uow: Any, instance: Any, outgoing: Any) -> None:
        self.dispatch = lambda task, name, params: dict(CANNED.get(name, {}))


class EnginePersisted:
    """The same BPMN, forms, messages, timers and canned services as `InMemory`, run by our engine
    with persistence: one transaction per step, saving the state without the spec, the human-task
    rows and the hash-chained audit events. One exchange per `run`."""

    def __init__(self, database_url: str, files_dir: Path) -> None:
        from sqlalchemy import bindparam, select

        from workflows.app import App
        from workflows.db.models import User
        from workflows.db.prepared import Prepared
        from workflows.db.process_models import HumanTask
        from workflows.engine.runner import Engine
        from workflows.services.setup import init_database
        from workflows.settings import Settings

        self.app = App(Settings(database_url=database_url, files_dir=files_dir))
        init_database(self.app)
        self.engine = Engine(self.app.library, _CannedContext)
        with self.app.uow() as uow:
            uow.clock.set(START)
            officer = User(username="officer", display_name="Officer", email="officer@example.eu", role="officer")
            uow.session.add(officer)
            uow.commit()
        self.officer_id = officer.id
        self.open_task = Prepared(select(HumanTask.task_guid).where(  # the task the user picked in the inbox
            HumanTask.instance_id == bindparam("instance_id"), HumanTask.task_spec == bindparam("spec"),
            HumanTask.status == "open"))
        self.data = START_DATA
        self.started: list[int] = []

    def run(self, i: int) -> None:
        app, engine = self.app, self.engine
        with app.uow() as uow:
            instance_id = engine.start(uow, "exchange", "exchange", i, {**self.data, "exchange_id": i}).instance.id
            uow.commit()
        for step, form in FORMS:
            with app.uow() as uow:
                instance = engine.instance(uow, instance_id)
                if step == "@visit_ends":
                    if uow.now() < VISIT_OVER:
                        uow.clock.set(VISIT_OVER)
                    engine.fire_timers(uow, instance)
                elif step.startswith("@"):
                    engine.deliver(uow, instance, step[1:], {"proposal_id": 1, "host_partnership_id": 1})
                else:
                    (guid,) = self.open_task.rows(uow.connection, instance_id=instance_id, spec=step)[0]
                    engine.complete(uow, instance, guid, {**form, "completed_by": self.officer_id})
                uow.commit()
        self.started.append(instance_id)

    def close(self) -> None:
        """Check (once the clock has stopped, as `InMemory` checks each run) that every exchange
        reached the end, and release the database."""
        from sqlalchemy import select

        from workflows.db.process_models import ProcessInstance

        try:
            with self.app.uow() as uow:
                unfinished = uow.session.scalars(select(ProcessInstance.id).where(
                    ProcessInstance.id.in_(self.started), ProcessInstance.status != "completed")).all()
        finally:
            self.app.close()
        if unfinished:
            raise AssertionError(f"persisted run did not reach the end: instances {unfinished}")


def engine_persisted(database_url: str, n: int, files_dir: Path) -> dict[str, Any]:
    """Our engine persisted alone, n exchanges."""
    runner = EnginePersisted(database_url, files_dir)
    started = time.perf_counter()
    for i in range(n):
        runner.run(i)
    elapsed = time.perf_counter() - started
    runner.close()
    return {"exchanges": n, "seconds": round(elapsed, 3), "per_second": round(n / elapsed, 2)}


def engine_persisted_in(n: int, work: str) -> dict[str, Any]:
    """`engine_persisted` on a fresh SQLite file in the folder `work`."""
    path = Path(work) / f"growth-{n}"
    return engine_persisted(f"sqlite:///{path}.db", n, path)


class NaivePersisted:
    """What ENGINEERING's "naive persistence" means, for reference: SpiffWorkflow's standard
    serializer (the whole spec inside every state), the JSON read, deserialized, run, serialized and
    written back at every step, one SQLAlchemy session and transaction per step — no human-task rows,
    no audit, no in-memory cache. One exchange per `run`."""

    def __init__(self, database_url: str) -> None:
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
        from sqlalchemy import Column, Integer, MetaData, Table, Text

        from workflows.db.base import make_engine, make_session_factory
        from workflows.engine import spiff

        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.spiff = spiff
        self.memory = InMemory()  # the same workflows and steps, without persistence
        self.db = make_engine(database_url)
        self.states = Table("naive_states", MetaData(), Column("id", Integer, primary_key=True), Column("state", Text))
        self.states.metadata.create_all(self.db)
        self.sessions = make_session_factory(self.db)

    def run(self, i: int) -> None:
        from sqlalchemy import insert, select, update

        spiff, states, serializer = self.spiff, self.states, self.serializer
        now = [START]
        with self.sessions() as session, spiff.using_clock(lambda: now[0]):
            wf = self.memory.new_workflow(i)
            wf.do_engine_steps()
            key = session.execute(insert(states).values(state=serializer.serialize_json(wf))
                                  .returning(states.c.id)).scalar_one()
            session.commit()
        for step, form in FORMS:
            with self.sessions() as session, spiff.using_clock(lambda: now[0]):
                script_engine = wf.script_engine  # not serialized: the same canned services
                wf = serializer.deserialize_json(
                    session.execute(select(states.c.state).where(states.c.id == key)).scalar_one())
                wf.script_engine = script_engine
                self.memory.step(wf, step, form, now)
                session.execute(update(states).where(states.c.id == key).values(state=serializer.serialize_json(wf)))
                session.commit()
        assert wf.is_completed(), "naive run did not reach the end"

    def close(self) -> None:
        self.db.dispose()


def _in_turns(persisted_: Any, n: int, chunk: int) -> tuple[float, float]:
    """Seconds spent by SpiffWorkflow in memory and by `persisted_` on n exchanges each, run in turns
    of `chunk` exchanges in this process: each side is timed on its own, but both over the same
    minutes, so that their ratio holds while this machine's speed drifts (it does, by a factor of two
    over tens of seconds on a shared host). One exchange of each is run first, untimed (imports,
    caches)."""
    memory = InMemory()
    memory.run(-1)
    persisted_.run(-1)
    spent = {memory.run: 0.0, persisted_.run: 0.0}
    for first in range(0, n, chunk):
        for run in spent:
            started = time.perf_counter()
            for i in range(first, min(first + chunk, n)):
                run(i)
            spent[run] += time.perf_counter() - started
    return spent[memory.run], spent[persisted_.run]


def naive_interleaved(database_url: str, n: int, chunk: int = 5) -> dict[str, Any]:
    """`NaivePersisted` and SpiffWorkflow in memory in turns, as `interleaved` measures our engine."""
    naive = NaivePersisted(database_url)
    try:
        memory, spent = _in_turns(naive, n, chunk)
    finally:
        naive.close()
    return {"exchanges": n, "per_second": round(n / spent, 2), "in_memory_per_second": round(n / memory, 2),
            "ratio_to_in_memory": round(memory / spent, 3)}


def interleaved(database_url: str, n: int, files_dir: Path, chunk: int = 10) -> dict[str, Any]:
    """Our engine persisted and SpiffWorkflow in memory in turns of `chunk` exchanges (`_in_turns`)."""
    persisted_ = EnginePersisted(database_url, files_dir)
    memory, spent = _in_turns(persisted_, n, chunk)
    persisted_.close()
    return {"exchanges": n, "seconds": round(spent, 3), "per_second": round(n / spent, 2),
            "in_memory_seconds": round(memory, 3), "in_memory_per_second": round(n / memory, 2),
            "ratio_to_in_memory": round(memory / spent, 3), "interleaved_in_chunks_of": chunk}
