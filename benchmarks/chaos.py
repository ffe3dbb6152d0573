"""`python -m benchmarks.chaos` (`make chaos`): kill -9 at random while a programme runs on PostgreSQL
(SPEC §15, issue 21 point 6). Not part of `make test`; bounded in time (about 7 minutes on two
shared cores with the defaults — 100 exchanges, a kill every 1.5 s on average, `--max-seconds` 600
of driving at most; `--exchanges`, `--kills` and `--kill-every` make it longer or harder). A worker
killed while it holds timer claims leaves them leased for two minutes (the product's lease), so the
last exchanges of a run may wait that long for their visit-end timer.

On a fresh, uniquely named PostgreSQL database on 127.0.0.1:5432 (created, then dropped):

- two `cxp serve` processes (127.0.0.1, two ports) take every person's step over HTTP: the officers'
  and the applicants' task completions (`POST /api/tasks/{id}/complete` with each person's bearer
  token), the visitors' evidence uploads, and finance's batch releases and bank files
  (`POST /api/payments/batches/{batch}/release`, `POST /api/payments/bank-files`); a client loop in
  this process plays the people (as the demo's actors do, through the API), with a few threads;
- three worker processes (`python -m benchmarks.chaos worker`) do the background work: each loops
  over the timers, outbox and payment-batch jobs — `workflows.flows.jobs.run_job`, the same functions
  the Prefect deployments' flows call (`cxp flows run NAME --no-prefect` runs them too). They are not
  `prefect worker start` processes: on two shared cores a Prefect server plus a child process per
  flow run (several seconds of imports each) leaves too little time between kills for the product's
  own work; `tests/flows/test_work_pool.py` proves the real pool and workers separately;
- while the programme runs, a random worker or server is killed with SIGKILL every `--kill-every`
  seconds (at least `--kills` times) and started again at once.

The harness itself does what no person does over HTTP: it sets up the programme (partnership, call,
host, people, the visitors' submitted applications), delivers the matching's `match_proposed`
message (as `benchmarks.programme` does) and moves the simulated clock to the end of the visits once
every exchange waits for that timer; the workers fire it.

At the end it checks, and prints as one JSON document: every completion the API acknowledged (2xx)
is in the database; a completion retried after its server was killed and answered 409 counts only if
the first attempt really committed (the task is completed by the same person, once); no step ran
twice (one `task_completed` event per task, one task per step of an exchange, one payment per
exchange); no claim is in two batches or paid twice; `cxp audit verify` is ok; `cxp doctor` finds no
stuck instance; and the counts (kills, restarts, completions acknowledged, retries after a killed
server, exchanges finished, duration).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("CXP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "chaos-password-of-the-chaos-run"
DEBTOR_IBAN = "BE68539007547034"  # benchmarks.programme's partnership
PEOPLE_MESSAGES = {"match_proposed", "payment_confirmed"}  # what an exchange of the run waits for besides timers


# --------------------------------------------------------------------------- what is checked

@dataclass
class Ack:
    """One completion the client sent, and how it ended."""

    task_id: int
    username: str
    status: int  # the final HTTP status (2xx acknowledged; 409 after a retry: see `check`)
    retried: bool  # at least one attempt failed because its server was killed (connection error)
    detail: str = ""


@dataclass
class State:
    """What the database holds at the end: the facts the checks read (a test crafts its own)."""

    tasks: dict[int, tuple[str, str | None]]  # human task id -> (status, username who completed it)
    completed_events: dict[int, int]  # human task id -> its `task_completed` audit events
    tasks_per_step: dict[tuple[int, str], int]  # (instance, task spec) -> human tasks created
    batches_per_claim: dict[int, list[int]]  # claim id -> the batches holding a line for it
    paid_events_per_exchange: dict[str, int]  # exchange ref -> its `payment_executed` audit events
    incidents: dict[int, str] = field(default_factory=dict)  # instance -> its incident's error
    paid_claims: int = 0
    exchanges: int = 0
    closed: int = 0
    reservations_left: list[int] = field(default_factory=list)  # exchanges whose budget reservation remains
    over_budget: dict[str, str] = field(default_factory=dict)  # call code -> committed + paid against budget


def check(state: State, acks: Iterable[Ack], audit_verify: dict[str, Any] | None = None,
          doctor: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Each check's problems (an empty list when it holds)."""
    problems: dict[str, list[str]] = {"acknowledged_not_lost": [], "retried_conflicts_committed": [],
                                      "no_step_twice": [], "no_claim_paid_twice": [], "audit_verify": [],
                                      "doctor": [], "no_incident": [], "unexpected_answers": [], "budget_kept": []}
    for ack in acks:
        status, by = state.tasks.get(ack.task_id, ("missing", None))
        if 200 <= ack.status < 300:
            if status != "completed" or state.completed_events.get(ack.task_id, 0) < 1:
                problems["acknowledged_not_lost"].append(
                    f"task {ack.task_id}: acknowledged {ack.status} to {ack.username}, but it is {status} "
                    f"with {state.completed_events.get(ack.task_id, 0)} completion event(s)")
        elif ack.status == 409 and ack.retried:
            if status != "completed" or by != ack.username or state.completed_events.get(ack.task_id, 0) != 1:
                problems["retried_conflicts_committed"].append(
                    f"task {ack.task_id}: 409 on a retry after a killed server, but it is {status} "
                    f"by {by} (the client was {ack.username})")
        else:
            problems["unexpected_answers"].append(f"task {ack.task_id}: {ack.status} {ack.detail[:200]}")
    for task_id, n in sorted(state.completed_events.items()):
        if n > 1:
            problems["no_step_twice"].append(f"task {task_id}: completed {n} times")
    for (instance, spec), n in sorted(state.tasks_per_step.items()):
        if n > 1:
            problems["no_step_twice"].append(f"instance {instance}: {n} tasks {spec}")
    for ref, n in sorted(state.paid_events_per_exchange.items()):
        if n > 1:
            problems["no_claim_paid_twice"].append(f"exchange {ref}: paid {n} times")
    for claim, batches in sorted(state.batches_per_claim.items()):
        if len(batches) > 1:
            problems["no_claim_paid_twice"].append(f"claim {claim}: in batches {sorted(batches)}")
    for instance, error in sorted(state.incidents.items()):
        problems["no_incident"].append(f"instance {instance}: {error[:300]}")
    for code, amounts in sorted(state.over_budget.items()):
        problems["budget_kept"].append(f"call {code}: {amounts}")
    problems["budget_kept"] += [f"exchange {e}: its budget reservation was never adopted or given back"
                                for e in sorted(state.reservations_left)]
    if audit_verify is not None and not audit_verify.get("ok"):
        problems["audit_verify"].append(json.dumps(audit_verify)[:500])
    if doctor is not None and doctor.get("stuck"):
        problems["doctor"] += [f"instance {s['instance']}: {s['reason']}" for s in doctor["stuck"]]
    return problems


def read_state(app: Any, exchange_ids: list[int]) -> State:
    """The facts of `State` from the database."""
    from sqlalchemy import func, select

    from workflows.budget import budget_totals
    from workflows.db.models import BudgetReservation, Call, Claim, ClaimStatus, Exchange, User
    from workflows.db.process_models import AuditEvent, HumanTask, PaymentLine, ProcessInstance

    with app.uow() as uow:
        s = uow.session
        rows = s.execute(select(ProcessInstance.id, ProcessInstance.incident).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id.in_(exchange_ids))).all()
        instances = [row.id for row in rows]
        incidents = {row.id: str((row.incident or {}).get("error", row.incident)) for row in rows if row.incident}
        names = {uid: name for uid, name in s.execute(select(User.id, User.username))}
        tasks = {tid: (status, names.get(by) if by else None) for tid, status, by in s.execute(
            select(HumanTask.id, HumanTask.status, HumanTask.completed_by).where(
                HumanTask.instance_id.in_(instances)))}
        completed: Counter[int] = Counter()
        for (after,) in s.execute(select(AuditEvent.data_after).where(AuditEvent.action == "task_completed",
                                                                      AuditEvent.instance_id.in_(instances))):
            completed[int((after or {}).get("human_task", -1))] += 1
        per_step = {(i, spec): int(n) for i, spec, n in s.execute(
            select(HumanTask.instance_id, HumanTask.task_spec, func.count()).where(
                HumanTask.instance_id.in_(instances)).group_by(HumanTask.instance_id, HumanTask.task_spec))}
        batches: dict[int, list[int]] = defaultdict(list)
        for claim_id, batch_id in s.execute(select(PaymentLine.claim_id, PaymentLine.batch_id)):
            batches[claim_id].append(batch_id)
        paid = Counter(ref for (ref,) in s.execute(select(AuditEvent.subject).where(
            AuditEvent.action == "payment_executed")))
        paid_claims = s.scalar(select(func.count()).select_from(Claim).where(Claim.status == ClaimStatus.PAID)) or 0
        closed = s.scalar(select(func.count()).select_from(Exchange).where(
            Exchange.id.in_(exchange_ids), Exchange.status == "closed")) or 0
        reserved = list(s.scalars(select(BudgetReservation.exchange_id).order_by(BudgetReservation.exchange_id)))
        over = {}
        for call in s.scalars(select(Call)):
            totals = budget_totals(s, call.id)
            if totals["committed"] + totals["paid"] > call.budget:
                over[call.code] = (f"committed EUR {totals['committed']} + paid EUR {totals['paid']} exceed the budget "
                                   f"of EUR {call.budget}")
    return State(tasks, dict(completed), per_step, dict(batches), dict(paid), incidents, int(paid_claims),
                 len(exchange_ids), int(closed), reserved, over)


def unfinished(app: Any, exchange_ids: list[int]) -> list[dict[str, Any]]:
    """What each exchange not closed waits for: its instance, open tasks, claim and batch."""
    from sqlalchemy import select

    from workflows.db.models import Claim
    from workflows.db.process_models import HumanTask, PaymentBatch, ProcessInstance

    out = []
    with app.uow() as uow:
        s = uow.session
        for instance in s.scalars(select(ProcessInstance).where(
                ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id.in_(exchange_ids),
                ProcessInstance.status != "completed")):
            claim = s.scalars(select(Claim).where(Claim.exchange_id == instance.subject_id)).first()
            batch = s.get(PaymentBatch, claim.batch_id) if claim is not None and claim.batch_id else None
            out.append({"instance": instance.id, "status": instance.status, "waiting": instance.waiting_messages,
                        "next_timer_at": instance.next_timer_at, "lease_owner": instance.lease_owner,
                        "lease_until": instance.lease_until, "incident": instance.incident,
                        "open_tasks": list(s.scalars(select(HumanTask.task_spec).where(
                            HumanTask.instance_id == instance.id, HumanTask.status == "open"))),
                        "claim": claim.status if claim is not None else None,
                        "batch": (batch.msg_id, batch.status, batch.file_path) if batch is not None else None,
                        "clock": uow.now()})
    return out


# --------------------------------------------------------------------------- the processes

def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proc:
    """One server or worker subprocess, in a session of its own (SIGKILL reaches all of it)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, url: str | None = None) -> None:
        self.name, self.argv, self.env, self.log, self.url = name, argv, env, log, url
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.starts += 1

    def kill(self) -> None:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def wait_ready(self, timeout: float = 90) -> None:
        """A server: until /api/health answers (polling a subprocess's readiness, not timing it)."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} ended at start: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer in {timeout:.0f} s: {self.log.read_text()[-2000:]}")


def worker_loop(pause: float = 0.3) -> None:
    """One background worker (`python -m benchmarks.chaos worker`): the timers, outbox and payment-batch
    jobs in turn, for ever, each as its deployment's flow runs it (`run_job`), on the settings of the
    environment (`CXP_DATABASE_URL`, `CXP_FILES_DIR`). A job that fails is reported and run again at
    the next turn, as a Prefect retry would."""
    from workflows.flows.jobs import current_app, run_job

    app = current_app()
    while True:
        for job in ("timers", "outbox", "payment-batch"):
            try:
                run_job(job, app)
            except Exception as err:  # noqa: BLE001 — the worker reports and goes on, as a flow retry would
                print(f"worker {os.getpid()}: {job} failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        time.sleep(pause)


# --------------------------------------------------------------------------- the people, over HTTP

class Client:
    """Requests to the two servers, each tried again (on the other server first) when its server was
    killed under it: a connection error, never an HTTP answer, is retried."""

    def __init__(self, servers: list[Proc], deadline: float) -> None:
        import httpx

        self.servers, self.deadline = servers, deadline
        self.local = threading.local()
        self.retries = 0
        self.lock = threading.Lock()
        self._errors = (httpx.TransportError,)

    def _http(self) -> Any:
        import httpx

        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(timeout=httpx.Timeout(60, connect=2))
        return self.local.client

    def request(self, method: str, path: str, token: str, **kwargs: Any) -> tuple[Any, bool]:
        """The answer, and whether an attempt failed on a killed server first."""
        retried = False
        attempt = random.randrange(len(self.servers))
        while True:
            server = self.servers[attempt % len(self.servers)]
            try:
                answer = self._http().request(method, f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"},
                                              **kwargs)
                return answer, retried
            except self._errors:
                if time.monotonic() > self.deadline:
                    raise
                retried = True
                with self.lock:
                    self.retries += 1
                attempt += 1
                time.sleep(0.05 * (attempt % 4))


@dataclass
class Run:
    """The programme under chaos: its database, people and processes."""

    url: str
    files: Path
    programme: Any
    tokens: dict[str, str]
    servers: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    other_answers: list[str] = field(default_factory=list)
    kills: Counter[str] = field(default_factory=Counter)


def _form(spec: str) -> dict[str, Any]:
    from benchmarks.lifecycle import FORMS

    return dict(next(form for name, form in FORMS if name == spec))


def complete(run: Run, client: Client, task_id: int, spec: str, exchange_index: int, ref: str) -> None:
    """One person completes one task over HTTP (the visitor uploads the cited certificate first)."""
    from benchmarks.lifecycle import CERTIFICATE

    username = run.programme.actor(spec, exchange_index)
    token = run.tokens[username]
    if spec == "submit_evidence":
        answer, _ = client.request("POST", f"/api/exchanges/{ref}/evidence", token,
                                   files={"file": ("a.pdf", CERTIFICATE, "application/pdf")},
                                   data={"kind": "attendance_certificate"})
        if answer.status_code not in (200, 201):
            run.other_answers.append(f"evidence {ref}: {answer.status_code} {answer.text[:200]}")
            return
    answer, retried = client.request("POST", f"/api/tasks/{task_id}/complete", token, json=_form(spec))
    run.acks.append(Ack(task_id, username, answer.status_code, retried, answer.text[:300]))


def bank(run: Run, client: Client) -> int:
    """Finance releases every new batch; the bank answers every released one (pain.002, camt.054),
    imported by finance over HTTP. How many requests were made."""
    from reports.bankfiles import make_camt054, make_pain002
    from workflows.demo.data import BRUSSELS

    token, made = run.tokens["finance"], 0
    answer, _ = client.request("GET", "/api/payments/batches", token)
    if answer.status_code != 200:
        run.other_answers.append(f"batches: {answer.status_code} {answer.text[:200]}")
        return 1
    for batch in answer.json():
        made += 1
        if batch["status"] == "created":
            released, _ = client.request("POST", f"/api/payments/batches/{batch['batch']}/release", token)
            if released.status_code not in (200, 409):
                run.other_answers.append(f"release {batch['batch']}: {released.status_code} {released.text[:200]}")
        elif batch["status"] == "released" and batch["lines"].get("batched"):
            detail, _ = client.request("GET", f"/api/payments/batches/{batch['batch']}", token)
            lines = [(t["exchange"], Decimal(str(t["amount"]))) for t in detail.json()["transfers"]
                     if t["status"] == "batched"]
            stamp = datetime.combine(datetime.now(BRUSSELS).date(), day_time(7, 30), BRUSSELS)
            msg_id = batch["batch"]
            for name, content in (
                    (f"PSR-{msg_id}.xml", make_pain002(msg_id, {ref: None for ref, _ in lines}, f"PSR-{msg_id}"[:35],
                                                       stamp, original_pmt_inf_id=batch["pmt_inf_id"])),
                    (f"NTF-{msg_id}.xml", make_camt054(lines, f"NTF-{msg_id}"[:35], stamp, DEBTOR_IBAN,
                                                       original_msg_id=msg_id))):
                imported, _ = client.request("POST", "/api/payments/bank-files", token,
                                             files={"file": (name, content, "application/xml")})
                made += 1
                if imported.status_code not in (200, 409):
                    run.other_answers.append(f"bank file {name}: {imported.status_code} {imported.text[:200]}")
    return made


def drive(run: Run, client: Client, deadline: float, threads: int) -> bool:
    """Play the people until every exchange is closed (or the deadline): whether all closed."""
    from sqlalchemy import select

    from benchmarks.lifecycle import VISIT_OVER
    from workflows.db.models import Exchange
    from workflows.db.process_models import HumanTask, ProcessInstance

    app, programme = run.programme.app, run.programme
    index = {exchange_id: i for i, exchange_id in enumerate(programme.exchanges)}
    sent: set[int] = set()
    visits_over = VISIT_OVER  # benchmarks.lifecycle: the moment every visit of the run is over
    with ThreadPoolExecutor(threads) as pool:
        while time.monotonic() < deadline:
            with app.uow() as uow:
                s = uow.session
                rows = s.execute(select(ProcessInstance.id, ProcessInstance.subject_id, ProcessInstance.status,
                                        ProcessInstance.waiting_messages, ProcessInstance.next_timer_at).where(
                    ProcessInstance.subject_type == "exchange",
                    ProcessInstance.subject_id.in_(programme.exchanges))).all()
                open_tasks = s.execute(select(HumanTask.id, HumanTask.instance_id, HumanTask.task_spec).where(
                    HumanTask.instance_id.in_([r.id for r in rows]), HumanTask.status == "open")).all()
                refs = {eid: ref for eid, ref in s.execute(select(Exchange.id, Exchange.ref).where(
                    Exchange.id.in_(programme.exchanges)))}
                now = uow.now()
            if all(r.status == "completed" for r in rows):
                return True
            subject = {r.id: r.subject_id for r in rows}
            todo = [(t.id, t.task_spec, subject[t.instance_id]) for t in open_tasks if t.id not in sent]
            sent.update(t[0] for t in todo)
            futures = [pool.submit(complete, run, client, tid, spec, index[ex], refs[ex]) for tid, spec, ex in todo]
            for r in rows:
                if r.status == "running" and "match_proposed" in (r.waiting_messages or []):
                    programme.message(r.subject_id, "match_proposed")
            busy = {t.instance_id for t in open_tasks}
            # (every instance also waits for the boundary messages of a cancellation or an extension)
            waiting_timer = [r for r in rows if r.status == "running" and r.id not in busy
                             and not PEOPLE_MESSAGES & set(r.waiting_messages or ())
                             and r.next_timer_at is not None]
            if now < visits_over and waiting_timer and len(waiting_timer) == len(
                    [r for r in rows if r.status == "running"]):
                with app.uow() as uow:  # every exchange waits for the end of its visit: time passes
                    uow.clock.set(visits_over)
                    uow.commit()
            if any("payment_confirmed" in (r.waiting_messages or ()) for r in rows):
                bank(run, client)
            for future in futures:
                future.result()
            if not todo:
                time.sleep(0.3)  # waiting for the workers' sweeps, not timing them
    return False


def chaos(run: Run, stop: threading.Event, every: float, rng: random.Random) -> None:
    """Kill a random worker or server with SIGKILL every `every` seconds (+-50 %), and start it again."""
    victims = run.servers + run.workers
    while not stop.wait(every * rng.uniform(0.5, 1.5)):
        victim = rng.choice(victims)
        victim.kill()
        run.kills[victim.name] += 1
        victim.start()


# --------------------------------------------------------------------------- the run

def create_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"cxp_chaos_{uuid.uuid4().hex[:10]}"
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name, make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _cli_json(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([str(BIN / "cxp"), *args, "--json"], env=env, capture_output=True, text=True, timeout=300)
    try:
        return dict(json.loads(done.stdout))
    except json.JSONDecodeError:
        return {"ok": False, "exit": done.returncode, "stderr": done.stderr[-1000:]}


def setup(url: str, files: Path, exchanges: int) -> Run:
    """The programme (benchmarks.programme) with `exchanges` submitted applications, and a token per person."""
    from benchmarks.programme import Programme
    from workflows.services.access import SYSTEM
    from workflows.services.accounts import set_password
    from workflows.services.tokens import issue_token

    programme = Programme(url, files)
    for i in range(exchanges):
        programme.submit(i)
    tokens = {}
    for username in ["officer1", "officer2", "finance", "host"] + [f"v{i}" for i in range(exchanges)]:
        set_password(programme.app, SYSTEM, username, PASSWORD)
        tokens[username] = issue_token(programme.app, SYSTEM, username, name="chaos", ttl_hours=24).token
    return Run(url, files, programme, tokens)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="run", choices=("run", "worker"))
    parser.add_argument("--exchanges", type=int, default=100, help="exchanges driven through their lifecycle")
    parser.add_argument("--kills", type=int, default=50, help="at least this many SIGKILLs")
    parser.add_argument("--kill-every", type=float, default=1.5, help="seconds between kills (on average)")
    parser.add_argument("--threads", type=int, default=4, help="client threads completing tasks")
    parser.add_argument("--max-seconds", type=float, default=600, help="give up driving after this long")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args(argv)
    if args.mode == "worker":
        worker_loop()
        return 0
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    random.seed(seed)
    name, url = create_database()
    started = time.monotonic()
    report: dict[str, Any] = {"database": name, "seed": seed, "workers": "3 processes looping over the timers, "
                              "outbox and payment-batch jobs (workflows.flows.jobs.run_job)", "servers": 2}
    run: Run | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="cxp-chaos-") as tmp:
            work = Path(tmp)
            run = setup(url, work / "files", args.exchanges)
            report["setup_seconds"] = round(time.monotonic() - started, 1)
            env = {**os.environ, "CXP_DATABASE_URL": url, "CXP_FILES_DIR": str(run.files),
                   "CXP_SMTP_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
            for n in range(2):
                port = free_port()
                run.servers.append(Proc(f"server{n}", [str(BIN / "cxp"), "serve", "--port", str(port)], env,
                                        work / f"server{n}.log", url=f"http://127.0.0.1:{port}"))
            for n in range(3):
                run.workers.append(Proc(f"worker{n}", [sys.executable, "-m", "benchmarks.chaos", "worker"], env,
                                        work / f"worker{n}.log"))
            for proc in run.servers + run.workers:
                proc.start()
            for server in run.servers:
                server.wait_ready()
            driven = time.monotonic()
            deadline = driven + args.max_seconds
            client = Client(run.servers, deadline)
            stop = threading.Event()
            killer = threading.Thread(target=chaos, args=(run, stop, args.kill_every, rng), daemon=True)
            killer.start()
            finished = drive(run, client, deadline, args.threads)
            stop.set()
            killer.join()
            report["drive_seconds"] = round(time.monotonic() - driven, 1)
            for proc in run.servers + run.workers:
                proc.stop()
            state = read_state(run.programme.app, run.programme.exchanges)
            cli_env = {**env}
            verified = _cli_json(["audit", "verify"], cli_env)
            doctor = _cli_json(["doctor"], cli_env)
            problems = check(state, run.acks, verified, doctor)
            if run.other_answers:
                problems["unexpected_answers"] += run.other_answers[:20]
            kills = sum(run.kills.values())
            statuses = Counter(a.status for a in run.acks)
            report.update({
                "ok": finished and kills >= args.kills and not any(problems.values()),
                "all_exchanges_closed": finished,
                "kills": kills, "kills_by_process": dict(sorted(run.kills.items())),
                "restarts": sum(p.starts - 1 for p in run.servers + run.workers),
                "completions_sent": len(run.acks),
                "completions_acknowledged": sum(1 for a in run.acks if 200 <= a.status < 300),
                "completions_retried_after_a_killed_server": sum(1 for a in run.acks if a.retried),
                "retried_answered_409_first_attempt_committed": sum(
                    1 for a in run.acks if a.retried and a.status == 409),
                "answers": {str(k): v for k, v in sorted(statuses.items())},
                "requests_retried_after_a_killed_server": client.retries,
                "exchanges": state.exchanges, "exchanges_finished": state.closed, "claims_paid": state.paid_claims,
                "audit_verify": {k: verified.get(k) for k in ("ok", "events", "chains", "problems") if k in verified},
                "doctor": doctor, "problems": problems,
                "duration_seconds": round(time.monotonic() - started, 1),
            })
            if not finished:
                report["unfinished"] = unfinished(run.programme.app, run.programme.exchanges)
            if not report["ok"]:
                report["worker_log_tail"] = "\n".join(w.log.read_text()[-1500:] for w in run.workers)
    finally:
        if run is not None:
            for proc in run.servers + run.workers:
                proc.stop()
            run.programme.app.close()
        if not args.keep_db:
            drop_database(name)
    json.dump(report, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
