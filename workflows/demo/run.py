"""Drive the demo programme through every stage in simulated time, through the same services that
the CLI and the web use: submissions, inbox work, messages, the timer sweep, payment batches, the
simulated bank's answers and the delivery of the outbox.

The clock stops on working days at 09:00 and 17:30 Europe/Brussels (and at 17:30 on weekends, for
the mail), and at the working-hour moments at which somebody acts (`hours.py`). The demo's progress
is in the database (`state.py`): `cxp demo` on a database holding an unfinished demo continues it."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.models import Application, Call, Organisation
from workflows.db.process_models import ProcessInstance
from workflows.demo import data, state
from workflows.demo.bank import SimulatedBank
from workflows.demo.data import BRUSSELS, START, Scenario
from workflows.demo.hours import CLOSING, OPENING, is_working_day
from workflows.demo.people import People
from workflows.demo.plan import VISITED, Planned, plan
from workflows.demo.signins import with_passwords
from workflows.services import ServiceError
from workflows.services.lifecycle import advance_clock, start, submit_application
from workflows.services.setup import init_database

END = datetime(2028, 12, 29, 18, 0, tzinfo=BRUSSELS)


class DemoError(ServiceError):
    pass


class Demo:
    def __init__(self, app: App, seed: int, size: str) -> None:
        self.app, self.seed, self.size = app, seed, size
        self.plan = plan(seed, size)
        self.scenarios: dict[str, Scenario] = {}
        self.done: set[str] = set()
        self.bank = SimulatedBank(app, on_reject=self._rejected)
        self.people = People(app, seed, self.scenarios)
        self.mail: Any = None

    # ---- set-up and resumption -------------------------------------------------------------------
    def populate(self) -> None:
        """Everything the demo starts from, and its `demo_state` row, in one transaction."""
        import random

        rng = random.Random(self.seed)
        with self.app.uow() as uow:
            if uow.session.scalar(select(func.count(Call.id))):
                raise DemoError("the database already holds a programme: run the demo on a fresh --db")
            uow.clock.set(START)
            parts = data.partnerships()
            orgs = data.organisations(rng, parts, data.SIZES[self.size])
            uow.session.add_all([*parts, *orgs])
            uow.session.flush()
            for org in orgs:
                org.partnership_id = org.demo_partnership.id  # type: ignore[attr-defined]
            calls = data.calls(parts)
            uow.session.add_all([*with_passwords(self.app.settings, data.users(parts, orgs), self.app.wall_clock()),
                                 *calls])
            uow.session.flush()
            uow.audit(SYSTEM, "demo_generated", subject=f"call:{calls[0].code}",
                      after={"partnerships": len(parts), "organisations": len(orgs), "seed": self.seed,
                             "size": self.size, "calls": [c.code for c in calls]})
            for c in calls:
                start(self.app, uow, "call", "call", c.id, {"call_id": c.id, "partnership_id": c.lead_partnership_id,
                                                            "subject_ref": c.code})
            state.create(uow, self.seed, self.size)
            uow.commit()

    def resume(self, row: state.DemoState) -> None:
        progress = row.progress
        self.scenarios.update({ref: Scenario(kind) for ref, kind in progress.get("scenarios", {}).items()})
        self.done = set(progress.get("done", []))
        self.bank.rejected_once = set(progress.get("rejected", []))
        self.people.acts = set(progress.get("acts", []))

    def _rejected(self, ref: str) -> None:
        with self.app.uow() as uow:
            state.record(uow, "rejected", ref)
            uow.commit()

    # ---- submissions -----------------------------------------------------------------------------
    def _organisation(self, uow: Any, item: Planned) -> Organisation | None:
        if item.org.startswith("pool:"):
            return uow.session.scalars(select(Organisation).order_by(Organisation.id)
                                       .offset(int(item.org[5:])).limit(1)).one()
        if item.org == VISITED:  # an organisation whose visit of the first call is under way or done
            from workflows.db.models import Exchange
            from workflows.programme import VISITED as VISITED_STATES

            visited = select(Organisation).join(Exchange, Exchange.visitor_org_id == Organisation.id)
            return (uow.session.scalars(visited.where(Exchange.status == "closed").order_by(Exchange.id)).first()
                    or uow.session.scalars(visited.where(Exchange.status.in_(VISITED_STATES))
                                           .order_by(Exchange.id)).first())
        return uow.session.scalars(select(Organisation).where(Organisation.legal_id == item.org)).one()

    def submit(self, item: Planned) -> None:
        """Make one planned submission and record it (and its scenario) in the same transaction."""
        with self.app.uow() as uow:
            org = self._organisation(uow, item)
            call = uow.session.scalars(select(Call).where(Call.code == item.call)).one()
            if org is not None:
                host = item.role == "host"
                row = Application(
                    call_id=call.id, organisation_id=org.id, partnership_id=org.partnership_id, role=item.role,
                    format="exchange_visit", date_from=item.date_from, date_to=item.date_to, sectors=org.sectors,
                    wished_countries=list(item.wished), capacity=3 if host else 0, topics=org.sectors[:2],
                    activities_offered=["joint_learning_event", "matchmaking", "study_visit"],
                    motivation=f"{org.legal_name} wants to learn from peers abroad.",
                    declaration_given=item.declaration, audit_rights_accepted=True, submitted_at=uow.now(),
                )
                uow.session.add(row)
                uow.session.flush()
                submit_application(self.app, uow, row)
                if not host:
                    ref = f"EX-{row.id:06d}"
                    self.scenarios[ref] = Scenario(item.kind)
                    state.record(uow, "scenarios", item.kind, ref=ref)
            state.record(uow, "done", item.id)
            uow.commit()
        self.done.add(item.id)

    def due_submissions(self, now: datetime) -> list[Planned]:
        today = now.astimezone(BRUSSELS).date()
        return [p for p in self.plan if p.id not in self.done and p.day <= today]

    # ---- the calendar ----------------------------------------------------------------------------
    def next_stop(self, now: datetime) -> datetime:
        """The next daily stop (09:00 and 17:30 on working days, 17:30 on weekends) or the earlier
        moment at which somebody acts."""
        local = now.astimezone(BRUSSELS)
        day = local.date()
        candidates = []
        for offset in range(0, 4):
            d = day + timedelta(days=offset)
            for t in ((OPENING, CLOSING) if is_working_day(d) else (CLOSING,)):
                moment = datetime.combine(d, t, BRUSSELS)
                if moment > local:
                    candidates.append(moment)
        soonest = self.people.next_act(now)
        if soonest is not None and soonest > local:
            candidates.append(soonest)
        return min(candidates)

    def finished(self) -> bool:
        with self.app.uow() as uow:
            running = uow.session.scalar(select(func.count(ProcessInstance.id)).where(
                ProcessInstance.status != "completed"))
        return running == 0 and len(self.done) == len(self.plan)

    def stop(self, now: datetime) -> None:
        """Everything that happens at one stop of the clock."""
        local = now.astimezone(BRUSSELS)
        today = local.date()
        opening = local.time() == OPENING and is_working_day(today)
        for item in self.due_submissions(now):
            self.submit(item)
        if opening:
            self.people.visit_events(today)
            self.people.budget_office(today)
        self.people.work_inboxes()
        if opening:
            self.bank.business_day(today, self.scenarios)
            self.people.work_inboxes()
        if local.time() == CLOSING and self.mail is not None:
            self.mail.deliver()

    def run(self, progress: Callable[[datetime], None] | None = None, until: datetime | None = None) -> None:
        """Drive the programme to its end — or only `until` that moment, leaving the work of that day
        in everyone's inbox (a later run continues it). Driven to a stop day, the demo's administrator
        leaves the budgets alone: grants waiting for budget wait for a person in the workspace."""
        self.people.raises_budgets = until is None
        while True:
            with self.app.uow() as uow:
                now = uow.now()
            if until is not None and now >= until:
                if self.mail is not None:
                    self.mail.deliver()
                return
            self.stop(now)
            if progress:
                progress(now)
            if self.finished() or now >= END:
                if self.mail is not None:
                    self.mail.deliver()
                with self.app.uow() as uow:
                    state.finish(uow)
                    uow.commit()
                return
            advance_clock(self.app, self.next_stop(now) - now)


def _already_done(app: App, row: state.DemoState) -> str:
    finished = f", finished {row.finished_at.astimezone(BRUSSELS):%Y-%m-%d}" if row.finished_at else ""
    return (f"the database holds a finished demo (seed {row.seed}, size {row.size}{finished}): "
            "run the demo on a fresh --db")


def prepare(app: App, seed: int, size: str, say: Callable[[str], None]) -> Demo:
    """A new demo on a fresh database, or the unfinished one the database holds."""
    init_database(app)
    with app.uow() as uow:
        row = state.load(uow)
        if row is not None:
            uow.session.expunge(row)
        now = uow.now()
    if row is None:
        demo = Demo(app, seed, size)
        demo.populate()
        return demo
    if row.status == state.FINISHED:
        raise DemoError(_already_done(app, row))
    demo = Demo(app, row.seed, row.size)
    demo.resume(row)
    say(f"continuing the unfinished demo (seed {row.seed}, size {row.size}) from "
        f"{now.astimezone(BRUSSELS):%Y-%m-%d %H:%M} simulated time")
    return demo


def run_demo(app: App, seed: int = 7, progress: bool = True, size: str = "full",
             say: Callable[[str], None] = lambda line: None, until: date | None = None) -> dict[str, Any]:
    """The demo programme, driven to its end — or, with `until`, to that day's opening (09:00), with
    exchanges at every stage and work waiting in the inboxes; running it again continues it."""
    from workflows.demo.delivery import MailRoom
    from workflows.demo.summary import summary

    if size not in data.SIZES:
        raise DemoError(f"size: {size!r} is not a demo size (one of: {', '.join(data.SIZES)})")
    stop_at = None
    if until is not None:
        if not START.date() < until <= END.date():
            raise DemoError(f"until: {until} is outside the demo's programme ({START.date()} to {END.date()})")
        stop_at = datetime.combine(until, OPENING, BRUSSELS) + timedelta(minutes=1)
    demo = prepare(app, seed, size, say)
    demo.mail = MailRoom.for_app(app)
    try:
        if not progress:
            demo.run(until=stop_at)
        else:
            _run_with_bar(demo, stop_at)
    finally:
        if demo.mail is not None:
            demo.mail.stop()
    if stop_at is not None and not demo.finished():  # the front door at the stop day: a draft to finish
        from workflows.demo.front_door import prepare_draft, register_organisations

        prepare_draft(app)
        register_organisations(app)
    result = summary(app, demo)
    result["finished"] = demo.finished()
    return result


def _run_with_bar(demo: Demo, until: datetime | None = None) -> None:
    from rich.progress import BarColumn, Progress, TextColumn

    first = START.date()
    total = (END.date() - first).days
    with Progress(TextColumn("[bold]demo[/] {task.description}"), BarColumn(), TextColumn("{task.completed} days"),
                  transient=False) as bar:
        job = bar.add_task("simulating", total=None)
        demo.run(lambda now: bar.update(job, completed=(now.astimezone(BRUSSELS).date() - first).days,
                                        description=f"{now.astimezone(BRUSSELS):%Y-%m-%d %H:%M}"), until=until)
        bar.update(job, description="done", total=max(total, 1), completed=max(total, 1))


__all__ = ["Demo", "DemoError", "END", "run_demo"]
