"""Drive the demo programme through every stage in simulated time, through the same services that
the CLI and the web use: submissions, inbox work, messages, the timer sweep, payment batches and the
simulated bank's answers."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import func, select

from workflows import audit
from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.models import Application, Call, Claim, Exchange, Organisation, Partnership, User
from workflows.db.process_models import HumanTask, OutboxMessage, ProcessInstance
from workflows.demo import data
from workflows.demo.actors import answer
from workflows.demo.bank import SimulatedBank
from workflows.demo.data import BRUSSELS, START, Scenario
from workflows.services import ServiceError
from workflows.services.exchanges import cancel_exchange, request_extension
from workflows.services.inbox import complete_task
from workflows.services.lifecycle import advance_clock, start, submit_application
from workflows.services.setup import init_database

END = datetime(2027, 12, 31, 18, 0, tzinfo=BRUSSELS)
SCENARIOS = ["rejected", "info", "withdrawn", "declined", "extension", "cancelled", "late", "correction",
             "bank_reject", "short"]


class DemoError(ServiceError):
    pass


class Demo:
    def __init__(self, app: App, seed: int) -> None:
        self.app = app
        self.rng = random.Random(seed)
        self.scenarios: dict[str, Scenario] = {}
        self.seen: dict[tuple[int, str], int] = {}
        self.schedule: dict[date, list[Callable[[], None]]] = {}
        self.bank = SimulatedBank(app)

    # ---- set-up ----------------------------------------------------------------------------------
    def populate(self) -> None:
        with self.app.uow() as uow:
            if uow.session.scalar(select(func.count(Call.id))):
                raise DemoError("the database already holds a programme: run the demo on a fresh --db")
            uow.clock.set(START)
            parts = data.partnerships()
            orgs = data.organisations(self.rng, parts)
            uow.session.add_all(parts + orgs)
            uow.session.flush()
            for org in orgs:
                org.partnership_id = org._demo_partnership.id  # type: ignore[attr-defined]
            call = data.call(parts)
            uow.session.add_all(data.users(parts, orgs) + [call])
            uow.session.flush()
            uow.audit(SYSTEM, "demo_generated", subject=f"call:{call.code}",
                      after={"partnerships": len(parts), "organisations": len(orgs)})
            self.call_id = call.id
            start(self.app, uow, "call", "call", call.id, {"call_id": call.id, "partnership_id": parts[0].id,
                                                            "subject_ref": call.code})
            uow.commit()
        self._plan_applications(orgs_count=len(orgs))

    def _plan_applications(self, orgs_count: int) -> None:
        hosts = list(range(30, min(orgs_count, 46)))
        visitors = list(range(0, 30))
        for n, i in enumerate(hosts):
            self._at(date(2027, 1, 12) + timedelta(days=n % 6), lambda i=i: self._apply(i, "host"))
        eligible_kinds = iter(SCENARIOS)
        for n, i in enumerate(visitors):
            day = date(2027, 1, 13) + timedelta(days=(n * 3) % 35)
            kind = "normal"
            if i == 29:
                day = date(2027, 3, 8)  # after the call closed: CALL_CLOSED
            elif i % 5 != 1 and i not in (28,):
                kind = next(eligible_kinds, "normal")
            self._at(day, lambda i=i, kind=kind: self._apply(i, "visitor", kind))

    def _at(self, day: date, action: Callable[[], None]) -> None:
        self.schedule.setdefault(day, []).append(action)

    def _apply(self, index: int, role: str, kind: str = "normal") -> None:
        with self.app.uow() as uow:
            org = uow.session.scalars(select(Organisation).order_by(Organisation.id).offset(index).limit(1)).one()
            window_from, window_to = data.visit_window(self.rng)
            app_row = Application(
                call_id=self.call_id, organisation_id=org.id, partnership_id=org.partnership_id, role=role,
                format="exchange_visit", date_from=window_from - (timedelta(days=14) if role == "host" else timedelta()),
                date_to=window_to + (timedelta(days=30) if role == "host" else timedelta()),
                sectors=org.sectors, wished_countries=[], capacity=3 if role == "host" else 0,
                topics=org.sectors[:2], activities_offered=["joint_learning_event", "matchmaking", "study_visit"],
                motivation=f"{org.legal_name} wants to learn from peers abroad.",
                declaration_given=index != 28, audit_rights_accepted=True, submitted_at=uow.now(),
            )
            uow.session.add(app_row)
            uow.session.flush()
            submit_application(self.app, uow, app_row)
            if role == "visitor":
                self.scenarios[f"EX-{app_row.id:06d}"] = Scenario(kind)
            uow.commit()

    # ---- a day of work ---------------------------------------------------------------------------
    def _facts(self, uow: Any, ref: str | None) -> dict[str, Any]:
        exchange = uow.session.scalars(select(Exchange).where(Exchange.ref == ref)).first() if ref else None
        if exchange is None:
            return {}
        visitor_app = uow.session.get(Application, exchange.visitor_application_id)
        host_app = uow.session.get(Application, exchange.host_application_id) if exchange.host_application_id else None
        visitor = uow.session.get(Organisation, exchange.visitor_org_id)
        cancelled = next((e.occurred_at for e in uow.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.subject == ref, audit.AuditEvent.action == "cancellation_requested"))), None)
        return {"visitor_from": visitor_app.date_from, "host_from": host_app.date_from if host_app else None,
                "arrival": exchange.arrival, "departure": exchange.departure, "visitor_country": visitor.country,
                "visitor_name": visitor.legal_name,
                "cancelled_on": cancelled.astimezone(BRUSSELS).date() if cancelled else None}

    def _actor(self, uow: Any, task: HumanTask, scenario: Scenario) -> str:
        if task.role == "applicant":
            return uow.session.scalars(select(User.username).where(
                User.organisation_id == task.organisation_id)).first()
        if task.role == "administrator":
            return "admin"
        partnership = uow.session.get(Partnership, task.partnership_id)
        short = partnership.code.split("-")[1].lower()
        if task.role == "finance":
            return f"finance.{short}"
        return f"officer2.{short}" if task.task_spec == "approve_payment" else f"officer1.{short}"

    def work_inboxes(self) -> int:
        done = 0
        for _ in range(20):  # completing a task can open the next one on the same day
            with self.app.uow() as uow:
                now = uow.now()
                jobs = []
                for task in uow.session.scalars(select(HumanTask).where(HumanTask.status == "open")
                                                .order_by(HumanTask.id)):
                    scenario = self.scenarios.get(task.subject_ref or "", Scenario())
                    seen = {spec: n for (iid, spec), n in self.seen.items() if iid == task.instance_id}
                    form = answer(task, scenario, self._facts(uow, task.subject_ref), now, seen)
                    if form is not None:
                        jobs.append((task.id, task.instance_id, task.task_spec, self._actor(uow, task, scenario), form))
            if not jobs:
                return done
            for task_id, instance_id, spec, username, form in jobs:
                complete_task(self.app, task_id, username, form)
                self.seen[(instance_id, spec)] = self.seen.get((instance_id, spec), 0) + 1
                done += 1
        return done

    def visit_events(self, today: date) -> None:
        """Extension and cancellation requests arrive the day after arrival."""
        with self.app.uow() as uow:
            due = [(e.ref, e.departure, uow.session.scalars(select(User.username).where(
                User.organisation_id == e.visitor_org_id)).first())
                for e in uow.session.scalars(select(Exchange).where(
                    Exchange.arrival == today - timedelta(days=1), Exchange.status == "visit_planned"))]
        for ref, departure, username in due:
            kind = self.scenarios.get(ref, Scenario()).kind
            if kind == "extension":
                request_extension(self.app, ref, username, departure + timedelta(days=7),
                                  "The host invited us to a second matchmaking round.")
            elif kind == "cancelled":
                cancel_exchange(self.app, ref, username, "Our delegate fell ill and had to return home.")

    def finished(self) -> bool:
        with self.app.uow() as uow:
            running = uow.session.scalar(select(func.count(ProcessInstance.id)).where(
                ProcessInstance.status != "completed"))
            pending_apps = sum(len(v) for d, v in self.schedule.items() if d >= uow.now().date())
        return running == 0 and pending_apps == 0

    def run(self, progress: Callable[[date], None] | None = None) -> None:
        while True:
            with self.app.uow() as uow:
                now = uow.now()
            today = now.astimezone(BRUSSELS).date()
            for action in self.schedule.pop(today, []):
                action()
            self.visit_events(today)
            self.work_inboxes()
            self.bank.business_day(today, self.scenarios)
            self.work_inboxes()
            if progress:
                progress(today)
            if self.finished() or now >= END:
                return
            advance_clock(self.app, timedelta(days=1))

    # ---- summary ---------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        with self.app.uow() as uow:
            states = dict(uow.session.execute(select(Exchange.status, func.count()).group_by(Exchange.status)).all())
            paid = uow.session.scalar(select(func.coalesce(func.sum(Claim.amount), 0)).where(Claim.status == "paid"))
            instances = dict(uow.session.execute(select(ProcessInstance.status, func.count())
                                                 .group_by(ProcessInstance.status)).all())
            emails = uow.session.scalar(select(func.count(OutboxMessage.id)))
            verified = audit.verify(uow.session).to_dict()
            return {
                "exchanges_by_state": states, "exchanges": sum(states.values()),
                "total_paid_eur": f"{Decimal(paid):.2f}", "instances_by_status": instances,
                "emails_queued": emails, "files_written": self.bank.files_written,
                "simulated_until": uow.now().isoformat(), "audit": verified,
            }


def run_demo(app: App, seed: int = 7, progress: bool = True) -> dict[str, Any]:
    init_database(app)
    demo = Demo(app, seed)
    demo.populate()
    if not progress:
        demo.run()
        return demo.summary()
    from rich.progress import BarColumn, Progress, TextColumn

    total = (END.date() - START.date()).days
    with Progress(TextColumn("[bold]demo[/] {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} days"),
                  transient=False) as bar:
        job = bar.add_task("simulating", total=total)
        demo.run(lambda d: bar.update(job, completed=(d - START.date()).days, description=f"{d.isoformat()}"))
        bar.update(job, completed=total, description="done")
    return demo.summary()
