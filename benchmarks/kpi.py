"""KPI report: n audit events (with their exchanges, applications and claims) to the KPI tables, next to
DuckDB reading the same rows from the database and aggregating them, measured in the same run.

The rows are bulk-inserted (Core `insert` executemany, not through the workflow engine): exchanges of
three partnerships going through the lifecycle's statuses, each with the events the KPIs read
(`exchange_status`, `application_status`, the evidence validation, the budget commitment, the bank's
execution) and as many events they do not read (task creation, service tasks, clock moves), 20 per
exchange in all. DuckDB's database scanners cannot be downloaded here, so the baseline reads the rows
through the driver into Arrow, as our service does, then aggregates: the status of each exchange as of
the cut-off, the time in each stage, the paid total.
"""
from __future__ import annotations

import gc
import hashlib
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from benchmarks.isolation import isolated
from workflows.app import App
from workflows.db.models import Application, Call, Claim, Exchange, Organisation, Partnership
from workflows.db.process_models import AuditEvent
from workflows.services.setup import init_database
from workflows.settings import Settings

EVENTS_PER_EXCHANGE = 20
STATUSES = ("eligible", "awaiting_match", "matched", "visit_planned", "awaiting_evidence", "evidence_submitted",
            "grant_computed", "committed", "awaiting_payment", "paid", "closed")
NOISE = ("task_created", "service_task", "clock_advanced")
PERIOD = "2027-12"
START = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)


def _exchange_events(ref: str, app_id: int, i: int) -> list[dict[str, Any]]:
    """The 20 events of exchange `i`: one in five stops ineligible; the rest are paid."""
    at = START + timedelta(minutes=i % 50_000)
    events: list[dict[str, Any]] = []

    def add(action: str, subject: str, after: dict[str, Any] | None, task: str | None = None) -> None:
        nonlocal at
        at += timedelta(hours=3 + (i * 7 + len(events)) % 40)
        events.append({"occurred_at": at, "action": action, "subject": subject, "task": task, "data_after": after})

    statuses = ("ineligible",) if i % 5 == 0 else STATUSES
    for status in statuses:
        add("exchange_status", ref, {"status": status})
        if status == "evidence_submitted":
            add("evidence_recorded", ref, {"working_days": {"working_days": 3 + i % 3}})
            add("task_completed", ref, {"form": {"decision": "accept"}}, "validate_evidence")
        elif status == "committed":
            add("budget_committed", ref, {"ok": True})
        elif status == "paid":
            add("payment_executed", ref, {"amount": "780.00"})
    for status in ("eligible", "awaiting_match", "matched")[: 1 if i % 5 == 0 else 3]:
        add("application_status", f"application:{app_id}", {"status": status})
    while len(events) < EVENTS_PER_EXCHANGE:
        add(NOISE[len(events) % 3], ref, {"n": len(events)})
    return events


def seed(app: App, n_events: int) -> int:
    """Bulk-insert a programme with about `n_events` audit events; the number of exchanges."""
    n = max(1, n_events // EVENTS_PER_EXCHANGE)
    with app.uow() as uow:
        s = uow.session
        uow.clock.set(datetime(2028, 1, 15, 9, 0, tzinfo=UTC))
        parts = [Partnership(code=f"P{k}", name=f"Partnership {k}", debtor_name="Bench", debtor_iban="BE68539007547034",
                             country="BE") for k in range(3)]
        s.add_all(parts)
        s.flush()
        orgs = [Organisation(legal_id=f"ORG{k:04d}", legal_name=f"Org {k}", org_type=("sme", "cluster_organisation")[k % 2],
                             country=("BE", "AT", "DE", "FR", "IT", "PL")[k % 6], city="City", latitude=50.0,
                             longitude=4.0 + k % 6, sectors=["digital", "health"][: 1 + k % 2], contact_email="o@x.org",
                             region_category=("less_developed", "transition", "more_developed")[k % 3],
                             partnership_id=parts[k % 3].id) for k in range(120)]
        call = Call(code="BENCH-KPI", title="Bench", lead_partnership_id=parts[0].id, opens_on=date(2027, 1, 1),
                    closes_on=date(2027, 3, 1), matching_deadline=START, budget=Decimal("99999999.00"),
                    rule_set_version="2026.1", formats=["exchange_visit"], status="open", partnerships=parts)
        s.add_all([*orgs, call])
        s.flush()
        apps, exchanges, claims, events = [], [], [], []
        for i in range(n):
            visitor, host = orgs[i % 120], orgs[(i + 1 + i % 7) % 120]
            ref = f"EX-{i + 1:07d}"
            apps.append({"id": i + 1, "call_id": call.id, "organisation_id": visitor.id,
                         "partnership_id": visitor.partnership_id, "role": "visitor", "format": "exchange_visit",
                         "date_from": date(2027, 2, 1), "date_to": date(2027, 3, 1), "submitted_at": START,
                         "sectors": visitor.sectors, "status": "submitted"})
            paid = i % 5 != 0
            exchanges.append({"id": i + 1, "ref": ref, "call_id": call.id, "visitor_application_id": i + 1,
                              "visitor_org_id": visitor.id, "visitor_partnership_id": visitor.partnership_id,
                              "host_org_id": host.id if paid else None, "format": "exchange_visit",
                              "working_days": {"working_days": 3 + i % 3} if paid else None,
                              "status": "closed" if paid else "ineligible", "created_at": START})
            if paid:
                claims.append({"exchange_id": i + 1, "call_id": call.id, "partnership_id": visitor.partnership_id,
                               "amount": Decimal("780.00"), "computation": {}, "status": "paid", "created_at": START})
            events += _exchange_events(ref, i + 1, i)
        s.execute(insert(Application), apps)
        s.execute(insert(Exchange), exchanges)
        if claims:
            s.execute(insert(Claim), claims)
        uow.commit()
    _insert_events(app, events)
    return n


def _insert_events(app: App, events: list[dict[str, Any]], chunk: int = 50_000) -> None:
    """The events in chunks, with distinct (not chained) hashes: the KPIs do not read the chain."""
    table = AuditEvent.__table__
    common = {"actor_id": None, "actor": "system", "actor_role": "system", "instance_id": None,
              "data_before": None, "prev_hash": "0" * 64}
    for start in range(0, len(events), chunk):
        rows = [{**common, **e, "hash": hashlib.sha256(str(start + k).encode()).hexdigest()}
                for k, e in enumerate(events[start:start + chunk])]
        with app.db.begin() as conn:
            conn.execute(insert(table), rows)


def duckdb_alone(app: App) -> tuple[float, dict[str, Any]]:
    """Seconds for DuckDB to aggregate the same rows, read through the driver into Arrow."""
    import duckdb
    import pyarrow as pa

    from workflows.services.reporting import events_sql, parse_period

    cutoff = parse_period(PERIOD, START, app.settings.timezone).cutoff
    started = time.perf_counter()
    raw = app.db.raw_connection()
    try:
        cur = raw.cursor()
        dialect = app.db.dialect
        bound = cutoff if dialect.name == "postgresql" else cutoff.replace(tzinfo=None).isoformat(" ", "microseconds")
        sql = events_sql(dialect.name)
        cur.execute(sql.replace("%(cutoff)s", "?") if dialect.paramstyle == "qmark" else sql, (bound,) if
                    dialect.paramstyle == "qmark" else {"cutoff": bound})
        events = cur.fetchall()
        cur.execute("SELECT ref, visitor_partnership_id FROM exchanges")
        exchanges = cur.fetchall()
        cur.execute("SELECT exchange_id, amount FROM claims")
        claims = cur.fetchall()
    finally:
        raw.close()
    ev = pa.table({name: pa.array([r[k] for r in events]) for k, name in enumerate(
        ("seq", "occurred_at", "action", "subject", "task", "status", "decision"))})
    ex = pa.table({"ref": [r[0] for r in exchanges], "partnership": [r[1] for r in exchanges]})
    cl = pa.table({"exchange_id": [r[0] for r in claims], "amount": [str(r[1]) for r in claims]})
    con = duckdb.connect()
    con.register("ev_raw", ev), con.register("ex", ex), con.register("cl", cl)
    con.execute("CREATE TEMP TABLE ev AS SELECT seq, CAST(occurred_at AS TIMESTAMP) ts, action, subject, status FROM ev_raw")
    by_status = con.execute("SELECT status, count(*) FROM (SELECT arg_max(status, seq) status FROM ev "
                            "WHERE action = 'exchange_status' GROUP BY subject) GROUP BY 1 ORDER BY 1").fetchall()
    stages = con.execute("""SELECT status, median(d) FROM (SELECT status, epoch(lead(ts) OVER (PARTITION BY subject
                            ORDER BY ts, seq) - ts) / 86400.0 d FROM ev WHERE action = 'exchange_status')
                            WHERE d IS NOT NULL GROUP BY 1 ORDER BY 1""").fetchall()
    paid = con.execute("SELECT sum(CAST(amount AS DECIMAL(18, 2))) FROM cl").fetchone()[0]
    con.close()
    return time.perf_counter() - started, {"by_status": dict(by_status), "stages": len(stages), "paid": paid}


def seed_database(database_url: str, n_events: int) -> dict[str, Any]:
    """A fresh database at `database_url` holding about `n_events` events."""
    app = App(Settings(database_url=database_url))
    init_database(app)
    started = time.perf_counter()
    n = seed(app, n_events)
    app.close()
    return {"exchanges": n, "seconds": time.perf_counter() - started}


def run(n_events: int = 1_000_000, database_url: str | None = None, rounds: int = 3) -> dict[str, Any]:
    """Seed `n_events` events on a fresh database, then time our KPI tables and the DuckDB baseline in
    turns, `rounds` times each; the medians and every ratio measured."""
    from reports.kpi_files import render_files
    from workflows.services.reporting import kpi_tables

    with tempfile.TemporaryDirectory(prefix="cxp-bench-kpi-") as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        seeded = isolated(seed_database, url, n_events)  # its own process: its memory is not ours
        if "error" in seeded:
            raise RuntimeError(f"seeding failed: {seeded['error']}")
        n, seeding = seeded["exchanges"], seeded["seconds"]
        app = App(Settings(database_url=url, files_dir=Path(tmp) / "files"))
        import duckdb  # noqa: F401 - both sides use them: imported before either is timed
        import pyarrow  # noqa: F401

        ours_runs, alone_runs = [], []
        for _ in range(rounds):  # in turns, the baseline first: neither gets the warmer cache
            gc.collect()
            alone, check = duckdb_alone(app)
            gc.collect()
            started = time.perf_counter()
            report = kpi_tables(app, PERIOD)
            ours_runs.append(time.perf_counter() - started)
            alone_runs.append(alone)
            ours_status = report.headline()["exchanges_by_status"]
            if ours_status != check["by_status"]:
                raise RuntimeError(f"our KPIs {ours_status} differ from DuckDB's {check['by_status']}")
        ours, alone = sorted(ours_runs)[rounds // 2], sorted(alone_runs)[rounds // 2]
        started = time.perf_counter()
        files = render_files(report)
        rendering = time.perf_counter() - started
        app.close()
    return {
        "events": n * EVENTS_PER_EXCHANGE, "exchanges": n, "seed_s": round(seeding, 2), "ours_s": round(ours, 3),
        "duckdb_alone_s": round(alone, 3), "ratio": round(ours / alone, 3), "target_ratio": 2.0,
        "ratios_measured": [round(o / a, 3) for o, a in zip(ours_runs, alone_runs, strict=True)],
        "files_s": round(rendering, 3), "file_bytes": sum(len(v) for v in files.values()),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_mb_is": "this process: our KPI tables, the DuckDB baseline and the files (seeding ran in another)",
        "ours_includes": "the rows of every KPI selected through the driver in one unit of work, Arrow tables, "
                         "every KPI table of SPEC §6 computed by DuckDB (files: `files_s`, not in the ratio)",
    }


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), indent=2))
