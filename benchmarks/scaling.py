"""`python -m benchmarks.scaling`: how the product path scales with worker processes on PostgreSQL
(SPEC §15, issue 21 point 7). One JSON document; not part of `python -m benchmarks` (it takes a few
minutes): its own command, documented in docs/running-at-scale.md.

For each n in `--workers` (1, 2 and 4), on a fresh PostgreSQL database: `--exchanges` visitors'
applications are submitted (not timed), then n processes drive an equal share of the exchanges each
through the whole lifecycle with the product's services, as `benchmarks.programme` does (rules,
claims, permissions, R-4EYES; one transaction per step) — the steps of the benchmark's `FORMS`. When
every process has reached the end of the visits, the simulated clock is moved past them once (the
visits' timers become due together) and the same n processes sweep the due timers
(`fire_due_timers`, sharing them by leases) before they go on.

- `exchanges_per_second` X(n): exchanges over the wall time from the start signal to the last process's
  end (process start-up and the submissions excluded); `efficiency` E(n) = X(n) / (n · X(1)). On two
  cores E cannot be high: the figure says how much of the second core the product turns into work.
- `lock_wait_share`: pg_stat_activity sampled every `--sample-ms` (50 ms) for our database: the samples
  of a backend waiting for a lock (`wait_event_type = 'Lock'`) over the samples of an active backend;
  `lock_waits_by_statement` names what they waited on: the wait event (`transactionid` — another
  transaction's row lock, `tuple` — queued behind another waiter for the row) and the statement.
- `timer_due_to_commit_ms`: from the moment the timers became due (the clock's commit) to the commit of
  each visit-end step, seen by a reader polling every 20 ms for the step's new task (PostgreSQL's
  commit timestamps are off here): p50, p95 and max over the exchanges.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.chaos import create_database, drop_database


def _attached(database_url: str, files_dir: Path, ids: dict[str, int], exchanges: list[int]) -> Any:
    """A `benchmarks.programme.Programme` on the database the parent set up (no new programme)."""
    from benchmarks.programme import Programme
    from workflows.app import App
    from workflows.settings import Settings

    programme = Programme.on_existing(App(Settings(database_url=database_url, files_dir=files_dir)), ids, exchanges)
    return programme


def _due_left(app: Any, exchanges: list[int]) -> int:
    from sqlalchemy import func, select

    from workflows.db.process_models import ProcessInstance

    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id.in_(exchanges),
            ProcessInstance.next_timer_at <= uow.now())) or 0)


def _warm(programme: Any, share: list[tuple[int, int]]) -> None:
    """What a long-running worker has done before: the modules of a step imported, the exchange's BPMN
    parsed and its people resolved — so that the timed part is the steps, not a process's first call."""
    import tasks.forms  # noqa: F401
    import workflows.services.evidence  # noqa: F401
    import workflows.services.inbox  # noqa: F401

    with programme.app.uow() as uow:
        programme.app.library.current(uow, "exchange")
    for username in ["officer1", "officer2", "host"] + [f"v{i}" for i, _ in share]:
        programme.principal(username)


def drive_share(database_url: str, files_dir: str, ids: dict[str, int], share: list[tuple[int, int]],
                everyone: list[int], start: Any, at_visit_end: Any, due: Any) -> None:
    """One worker process: its exchanges (index, id) through every step; at the end of the visits it
    waits for the others (`at_visit_end`), then sweeps the due timers with them until none is left."""
    from benchmarks.lifecycle import FORMS
    from workflows.services.inbox import complete_task
    from workflows.services.lifecycle import fire_due_timers

    programme = _attached(database_url, Path(files_dir), ids, [exchange for _, exchange in share])
    _warm(programme, share)
    start.wait()
    for spec, form in FORMS:
        if spec == "@visit_ends":
            at_visit_end.wait()  # every process is here; the parent moves the clock
            due.wait()
            while _due_left(programme.app, everyone):
                if not fire_due_timers(programme.app):
                    time.sleep(0.02)  # the rest are leased to another worker: wait for its commits
            continue
        for i, exchange_id in share:
            if spec.startswith("@"):
                programme.message(exchange_id, spec[1:])
            else:
                task_id, principal = programme.task_of(exchange_id, spec), programme.principal(programme.actor(spec, i))
                if spec == "submit_evidence":
                    programme.upload_cited(exchange_id, principal)
                complete_task(programme.app, task_id, principal, form)
    programme.app.close()


class Sampler(threading.Thread):
    """pg_stat_activity of our database every `every` seconds: active and lock-waiting backends."""

    def __init__(self, admin_url: str, database: str, every: float) -> None:
        super().__init__(daemon=True)
        from sqlalchemy import create_engine

        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.database, self.every = database, every
        self.samples = self.active = self.waiting = 0
        self.waits: Counter[str] = Counter()  # what the lock-waiting backends were running
        self.stop = threading.Event()

    def run(self) -> None:
        from sqlalchemy import text

        query = text("SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity "
                     "WHERE datname = :db AND pid <> pg_backend_pid()")
        with self.engine.connect() as conn:
            while not self.stop.wait(self.every):
                self.samples += 1
                for state, wait_type, wait_event, sql in conn.execute(query, {"db": self.database}):
                    if state != "active":
                        continue
                    self.active += 1
                    if wait_type == "Lock":
                        self.waiting += 1
                        self.waits[f"{wait_event}: {' '.join((sql or '').split())[:140]}"] += 1
        self.engine.dispose()


def _watch_timers(app: Any, exchanges: list[int], since: float, seen: dict[int, float], stop: threading.Event) -> None:
    """When each exchange's visit-end step has committed (its evidence task appears), every 20 ms."""
    from sqlalchemy import select

    from workflows.db.process_models import HumanTask, ProcessInstance

    with app.uow() as uow:
        instances = dict(uow.session.execute(select(ProcessInstance.id, ProcessInstance.subject_id).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id.in_(exchanges))).all())
    while len(seen) < len(instances) and not stop.is_set():
        with app.uow() as uow:
            found = uow.session.scalars(select(HumanTask.instance_id).where(
                HumanTask.instance_id.in_(instances), HumanTask.task_spec == "submit_evidence")).all()
        now = time.monotonic()
        for instance in found:
            seen.setdefault(instance, now - since)
        time.sleep(0.02)


def measure(n: int, exchanges: int, sample_every: float, work: Path) -> dict[str, Any]:
    """One run with `n` worker processes on a fresh database."""
    from benchmarks.chaos import ADMIN_URL
    from benchmarks.lifecycle import VISIT_OVER
    from benchmarks.programme import Programme

    name, url = create_database()
    try:
        files = work / f"files-{n}"
        programme = Programme(url, files)
        for i in range(exchanges):
            programme.submit(i)
        ids = {"partnership": programme.partnership_id, "call": programme.call_id,
               "host_org": programme.host_org_id, "host_app": programme.host_app_id}
        everyone = list(programme.exchanges)
        context = multiprocessing.get_context("spawn")
        start, at_visit_end = context.Barrier(n + 1), context.Barrier(n + 1)
        due = context.Event()
        shares = [[(i, e) for i, e in enumerate(everyone) if i % n == k] for k in range(n)]
        processes = [context.Process(target=drive_share, args=(url, str(files), ids, share, everyone, start,
                                                               at_visit_end, due)) for share in shares]
        for process in processes:
            process.start()
        sampler = Sampler(ADMIN_URL, name, sample_every)
        start.wait(timeout=300)  # every process has imported and attached
        started = time.monotonic()
        sampler.start()
        at_visit_end.wait(timeout=1800)
        with programme.app.uow() as uow:
            uow.clock.set(VISIT_OVER)  # every visit is over: its timer is due from this commit on
            uow.commit()
        became_due = time.monotonic()
        seen: dict[int, float] = {}
        stop = threading.Event()
        watcher = threading.Thread(target=_watch_timers, args=(programme.app, everyone, became_due, seen, stop),
                                   daemon=True)
        watcher.start()
        due.set()
        for process in processes:
            process.join(timeout=1800)
        elapsed = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        watcher.join(timeout=5)
        stop.set()
        failed = [p.exitcode for p in processes if p.exitcode != 0]
        closed = programme.closed()
        audit_ok = programme.audit_ok()
        programme.app.close()
        latencies = sorted(seen.values())
        return {
            "workers": n, "exchanges": exchanges, "closed": closed, "audit_ok": audit_ok, "failed_processes": failed,
            "seconds": round(elapsed, 2), "exchanges_per_second": round(exchanges / elapsed, 2),
            "lock_wait_share": round(sampler.waiting / sampler.active, 4) if sampler.active else 0.0,
            "pg_samples": sampler.samples, "active_samples": sampler.active, "lock_wait_samples": sampler.waiting,
            "lock_waits_by_statement": dict(sampler.waits.most_common(5)),
            "timer_due_to_commit_ms": {
                "timers": len(latencies),
                "p50": round(statistics.median(latencies) * 1000) if latencies else None,
                "p95": round(latencies[max(0, round(0.95 * len(latencies)) - 1)] * 1000) if latencies else None,
                "max": round(latencies[-1] * 1000) if latencies else None},
        }
    finally:
        drop_database(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling")
    parser.add_argument("--exchanges", type=int, default=48, help="exchanges per run (a multiple of 4 shares evenly)")
    parser.add_argument("--workers", default="1,2,4", help="the worker counts, comma-separated")
    parser.add_argument("--sample-ms", type=float, default=50, help="pg_stat_activity sampling period")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.workers.split(",")]
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cxp-scaling-") as tmp:
        for n in counts:
            runs[str(n)] = measure(n, args.exchanges, args.sample_ms / 1000, Path(tmp))
    base = runs.get("1", {}).get("exchanges_per_second")
    report: dict[str, Any] = {"database": "postgresql", "cpus": multiprocessing.cpu_count(), "runs": runs}
    if base:
        report["efficiency"] = {n: round(run["exchanges_per_second"] / (int(n) * base), 3) for n, run in runs.items()}
        report["speedup"] = {n: round(run["exchanges_per_second"] / base, 3) for n, run in runs.items()}
    report["lock_wait_share_max"] = max(run["lock_wait_share"] for run in runs.values())
    report["lock_wait_target"] = 0.05
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if all(run["closed"] == run["exchanges"] and run["audit_ok"] and not run["failed_processes"]
                    for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
