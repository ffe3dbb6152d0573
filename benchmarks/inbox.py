"""Inbox query: the first page of a user's inbox with `n` open tasks in the database, against the same
SQL run with the raw driver (ENGINEERING "Speed and scale": at most 3x).

*ours*: `workflows.services.inbox.list_tasks` in a unit of work of its own, as `cxp tasks --user` and
the HTTP API call it with the principal their entry point resolved: the inbox statements chosen for the
principal's role and partnership, the page read into `TaskOut` models with their types (UTC
datetimes), and the counts per task of the whole filtered set (`InboxPage.total`, `counts_by_task`).
*raw*: the same two SQL statements (the page, the counts) with the same parameters, run on the driver's
own connection (sqlite3 or psycopg) with the driver's cursor, their rows fetched as tuples.

The two are timed in turns, one call each, so that their ratio holds while the machine's speed drifts.
"""
from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from workflows.app import App
from workflows.db.models import Partnership, User
from workflows.db.process_models import HumanTask, ProcessDefinition, ProcessInstance
from workflows.services.setup import init_database
from workflows.settings import Settings

PAGE = 50
TASKS_PER_INSTANCE = 10
PARTNERSHIPS = 5
START = datetime(2027, 1, 4, 9, tzinfo=UTC)
_SPECS = [("assess_application", "Assess the application", "Officer", "officer"),
          ("validate_evidence", "Validate the evidence", "Officer", "officer"),
          ("approve_payment", "Approve the payment", "Finance", "finance"),
          ("submit_evidence", "Submit the evidence", "Visitor", "applicant"),
          ("host_accept_match", "Answer the match proposal", "Host", "applicant")]


def seed_open_tasks(app: App, n: int, seed: int = 7) -> str:
    """`n` open human tasks over `n / 10` instances, five partnerships, officers, finance officers and
    applicants; due dates over a year, a tenth without one, a twentieth assigned. Returns the username
    whose inbox is measured: an officer of the first partnership."""
    rng = random.Random(seed)
    with app.uow() as uow:
        session = uow.session
        partnerships = [Partnership(code=f"P{i}", name=f"Partnership {i}", country="BE", debtor_name=f"Partnership {i}",
                                    debtor_iban="BE68539007547034") for i in range(PARTNERSHIPS)]
        session.add_all(partnerships)
        session.flush()
        definition = session.scalars(select(ProcessDefinition.id).where(ProcessDefinition.process_id == "exchange")
                                     .order_by(ProcessDefinition.version.desc())).first()
        users = [User(username=f"officer.p{i}", display_name=f"Officer {i}", email=f"officer{i}@example.eu",
                      role="officer", partnership_id=p.id) for i, p in enumerate(partnerships)]
        session.add_all(users)
        session.flush()
        now = uow.now()
        instances = [{"definition_id": definition, "process_id": "exchange", "subject_type": "exchange", "subject_id": i,
                      "state_json": "{}", "status": "running", "waiting_messages": [], "lock_version": 1,
                      "created_at": now, "updated_at": now} for i in range(max(1, n // TASKS_PER_INSTANCE))]
        conn = uow.connection
        conn.execute(insert(ProcessInstance.__table__), instances)
        first_instance = conn.scalar(select(func.min(ProcessInstance.__table__.c.id)))
        rows = []
        for i in range(n):
            spec, name, lane, role = _SPECS[rng.randrange(len(_SPECS))]
            partnership = partnerships[rng.randrange(PARTNERSHIPS)]
            rows.append({
                "instance_id": first_instance + i // TASKS_PER_INSTANCE, "task_guid": f"bench-{i:08d}",
                "task_spec": spec, "name": name, "lane": lane, "role": role, "partnership_id": partnership.id,
                "subject_ref": f"EX-2027-{i:06d}", "organisation_id": 1 + i % 40 if role == "applicant" else None,
                "assignee_id": users[rng.randrange(PARTNERSHIPS)].id if rng.random() < 0.05 else None,
                "due_at": None if rng.random() < 0.1 else START + timedelta(minutes=rng.randrange(525_600)),
                "follow_up_at": None, "status": "open", "created_at": now, "completed_at": None, "completed_by": None,
            })
        for first in range(0, n, 10_000):
            conn.execute(insert(HumanTask.__table__), rows[first:first + 10_000])
        uow.commit()
    return users[0].username


class _Raw:
    """The inbox's SQL on the raw driver: the two statements `list_tasks` runs for this principal,
    their text and parameters as the driver takes them, on a pooled DBAPI connection."""

    def __init__(self, app: App, principal: Any) -> None:
        from workflows.services.inbox import inbox_statement

        page, counts, params = inbox_statement(principal)
        with app.uow() as uow:
            params["now"] = uow.now()
        self.statements = [page.for_driver(app.db.dialect, **params, limit=PAGE, offset=0),
                           counts.for_driver(app.db.dialect, **params)]
        self.connection = app.db.raw_connection()  # outside any transaction of ours
        self.dbapi = self.connection.dbapi_connection

    def page(self) -> list[Any]:
        cursor = self.dbapi.cursor()
        try:
            rows = []
            for sql, params in self.statements:
                cursor.execute(sql, params)
                rows.append(cursor.fetchall())
            return rows[0]
        finally:
            cursor.close()
            self.dbapi.rollback()  # PostgreSQL opened a transaction for the read

    def close(self) -> None:
        self.connection.close()


def measure(database_url: str, n: int, calls: int = 200) -> dict[str, Any]:
    """Seed `n` open tasks on `database_url` (a fresh database), then time the first inbox page of an
    officer, ours and raw in turns; medians per call."""
    from workflows.services.access import principal_by_name
    from workflows.services.inbox import list_tasks

    with tempfile.TemporaryDirectory(prefix="cxp-bench-inbox-") as tmp:
        app = App(Settings(database_url=database_url, files_dir=Path(tmp) / "files"))
        try:
            init_database(app)
            started = time.perf_counter()
            principal = principal_by_name(app, seed_open_tasks(app, n))
            seeded = time.perf_counter() - started
            raw = _Raw(app, principal)
            try:

                def ours() -> list[int]:
                    return [task.id for task in list_tasks(app, principal, page_size=PAGE).tasks]

                first_ours, first_raw = ours(), raw.page()
                if first_ours != [row[0] for row in first_raw] or len(first_ours) != PAGE:
                    raise AssertionError("our inbox page and the raw query's differ")
                spent: dict[str, list[float]] = {"ours": [], "raw": []}
                for _ in range(calls):
                    for label, call in (("ours", ours), ("raw", raw.page)):
                        began = time.perf_counter()
                        call()
                        spent[label].append(time.perf_counter() - began)
            finally:
                raw.close()
        finally:
            app.close()
    ours_ms, raw_ms = (statistics.median(spent[k]) * 1000 for k in ("ours", "raw"))
    return {"open_tasks": n, "page": PAGE, "calls": calls, "ours_ms": round(ours_ms, 3), "raw_ms": round(raw_ms, 3),
            "ratio": round(ours_ms / raw_ms, 2), "target_ratio": 3, "seed_seconds": round(seeded, 1)}


def run(n: int = 100_000, database_url: str | None = None) -> dict[str, Any]:
    """`measure` on a fresh SQLite file (or `database_url`)."""
    if database_url is not None:
        return measure(database_url, n)
    with tempfile.TemporaryDirectory(prefix="cxp-bench-inbox-db-") as tmp:
        return measure(f"sqlite:///{tmp}/inbox.db", n)
