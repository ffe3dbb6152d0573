"""The demo's people at work: each open task is done at its moment (`hours.act_at`) by the person
whose lane it is in, with the answer of its exchange's scenario (`actors.answer`); visitors ask for
extensions and cancellations; the administrator raises a call's budget when grants wait for it —
only when the demo is driven to its end: a demo stopped on a day (`--until`) leaves waiting grants
waiting for a person to raise the budget in the workspace."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import func, select

from workflows import audit
from workflows.app import App
from workflows.budget import budget_totals
from workflows.db.models import (
    Application,
    Call,
    Claim,
    ClaimStatus,
    Exchange,
    MatchProposal,
    Organisation,
    Partnership,
    User,
)
from workflows.db.process_models import AuditEvent, HumanTask
from workflows.demo import state
from workflows.demo.actors import answer
from workflows.demo.data import BRUSSELS, Scenario
from workflows.demo.hours import act_at, next_working_day
from workflows.services import Invalid
from workflows.services.access import Principal, principal_by_name
from workflows.services.calls import change_budget
from workflows.services.exchanges import cancel_exchange, request_extension
from workflows.services.inbox import complete_task

SAME_COUNTRY_ACT = "same_country_override"


class People:
    def __init__(self, app: App, seed: int, scenarios: dict[str, Scenario]) -> None:
        self.app, self.seed, self.scenarios = app, seed, scenarios
        self.acts: set[str] = set()
        self._moments: dict[int, datetime] = {}
        self._principals: dict[str, Principal] = {}
        self.raises_budgets = True  # False while the demo runs to a stop day: a person raises them then

    def _as(self, username: str) -> Principal:
        """The demo person `username` as the principal the entry points resolve (once per person)."""
        if username not in self._principals:
            self._principals[username] = principal_by_name(self.app, username)
        return self._principals[username]

    # ---- facts a person looks at -----------------------------------------------------------------
    def _facts(self, uow: Any, task: HumanTask) -> dict[str, Any]:
        if task.task_spec == "review_proposals":
            return {"reassign": self._reassign(uow), "drop": self._stale_proposals(uow)}
        ref = task.subject_ref
        exchange = uow.session.scalars(select(Exchange).where(Exchange.ref == ref)).first() if ref else None
        if exchange is None:
            return {}
        visitor_app = uow.session.get(Application, exchange.visitor_application_id)
        host_app = uow.session.get(Application, exchange.host_application_id) if exchange.host_application_id else None
        visitor = uow.session.get(Organisation, exchange.visitor_org_id)
        host = uow.session.get(Organisation, exchange.host_org_id) if exchange.host_org_id else None
        cancelled = next((e.occurred_at for e in uow.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.subject == ref, audit.AuditEvent.action == "cancellation_requested"))), None)
        return {"visitor_from": visitor_app.date_from, "host_from": host_app.date_from if host_app else None,
                "arrival": exchange.arrival, "departure": exchange.departure, "visitor_country": visitor.country,
                "visitor_name": visitor.legal_name, "host_name": host.legal_name if host else "",
                "account_holder": visitor.account_holder or visitor.legal_name,
                "cancelled_on": cancelled.astimezone(BRUSSELS).date() if cancelled else None}

    def _stale_proposals(self, uow: Any) -> list[int]:
        """Proposals whose visitor no longer waits for one (its matching deadline passed meanwhile)."""
        from workflows.services.lifecycle import instance_for

        stale = []
        for proposal in uow.session.scalars(select(MatchProposal).where(MatchProposal.status == "proposed")
                                            .order_by(MatchProposal.id)):
            exchange = uow.session.scalars(select(Exchange).where(
                Exchange.visitor_application_id == proposal.visitor_application_id)).one()
            if "match_proposed" not in (instance_for(uow, "exchange", exchange.id).waiting_messages or []):
                stale.append(proposal.id)
        return stale

    def _reassign(self, uow: Any) -> list[dict[str, int]]:
        """Once, the officer tries to move a proposed visitor to a host of its own country (refused
        with SAME_COUNTRY, the solver's proposal stands) — when the form knows overrides."""
        from tasks.forms import FORMS

        if SAME_COUNTRY_ACT in self.acts or "reassign" not in FORMS["review_proposals"].model_fields:
            return []
        for proposal in uow.session.scalars(select(MatchProposal).where(MatchProposal.status == "proposed")
                                            .order_by(MatchProposal.id)):
            visitor = uow.session.get(Application, proposal.visitor_application_id)
            host = uow.session.scalars(select(Application).join(Organisation).where(
                Application.call_id == proposal.call_id, Application.role == "host",
                Application.status == "published", Organisation.country == visitor.organisation.country)
                .order_by(Application.id)).first()
            if host is not None:
                return [{"visitor_application_id": visitor.id, "host_application_id": host.id}]
        return []

    def _actor(self, uow: Any, task: HumanTask) -> str:
        if task.role == "applicant":
            return uow.session.scalars(select(User.username).where(
                User.organisation_id == task.organisation_id).order_by(User.id)).first()
        if task.role == "administrator":
            return "admin"
        short = uow.session.get(Partnership, task.partnership_id).code.split("-")[1].lower()
        if task.role == "finance":
            return f"finance.{short}"
        # a second officer approves payments, and signs the Commitment for the host's partnership (the
        # two partnership signatures come from two people, R-4EYES, even within one partnership)
        second = task.task_spec in ("approve_payment", "sign_commitment_host_officer")
        return f"officer2.{short}" if second else f"officer1.{short}"

    # ---- the inbox -------------------------------------------------------------------------------
    def _open_moments(self, uow: Any) -> dict[int, datetime]:
        """When each open task will be done (computed once per task: `act_at` is pure)."""
        moments = {}
        for task_id, role, created in uow.session.execute(select(HumanTask.id, HumanTask.role, HumanTask.created_at)
                                                          .where(HumanTask.status == "open")):
            if task_id not in self._moments:
                self._moments[task_id] = act_at(self.seed, task_id, role, created)
            moments[task_id] = self._moments[task_id]
        return moments

    def next_act(self, now: datetime) -> datetime | None:
        with self.app.uow() as uow:
            later = [m for m in self._open_moments(uow).values() if m > now]
        return min(later) if later else None

    def _seen(self, uow: Any, task: HumanTask) -> dict[str, int]:
        done = uow.session.scalar(select(func.count(HumanTask.id)).where(
            HumanTask.instance_id == task.instance_id, HumanTask.task_spec == task.task_spec,
            HumanTask.status == "completed"))
        return {task.task_spec: int(done or 0)}

    def work_inboxes(self) -> int:
        done = 0
        for _ in range(20):  # completing a task can open the next one, due at once
            with self.app.uow() as uow:
                now = uow.now()
                jobs = []
                due = sorted(task_id for task_id, moment in self._open_moments(uow).items() if moment <= now)
                for task in (uow.session.scalars(select(HumanTask).where(HumanTask.id.in_(due))
                                                 .order_by(HumanTask.id)) if due else ()):
                    scenario = self.scenarios.get(task.subject_ref or "", Scenario())
                    form = answer(task, scenario, self._facts(uow, task), now, self._seen(uow, task))
                    if form is not None:
                        jobs.append((task.id, task.task_spec, self._actor(uow, task), form))
            if not jobs:
                return done
            for task_id, spec, username, form in jobs:
                self._upload(form.pop("_uploads", None), username)
                if spec == "review_proposals" and form.get("reassign"):
                    self._act(SAME_COUNTRY_ACT)
                    try:  # the officer tries the override, reads why it is refused, keeps the proposal
                        complete_task(self.app, task_id, self._as(username), form)
                    except Invalid:
                        form = {**form, "reassign": []}
                    else:
                        done += 1
                        continue
                complete_task(self.app, task_id, self._as(username), form)
                done += 1
        return done

    def _upload(self, uploads: tuple[str, list[tuple[str, str, bytes]]] | None, username: str) -> None:
        """Store the files a closing report cites before it is submitted, as its visitor does."""
        if uploads is None:
            return
        from workflows.services.evidence import upload_evidence

        ref, files = uploads
        for kind, filename, data in files:
            upload_evidence(self.app, self._as(username), ref, filename, kind, data)

    def _act(self, name: str) -> None:
        self.acts.add(name)
        with self.app.uow() as uow:
            state.record(uow, "acts", name)
            uow.commit()

    # ---- requests during a visit -----------------------------------------------------------------
    def visit_events(self, today: date) -> None:
        """Extension and cancellation requests arrive on the first working day after arrival (once)."""
        with self.app.uow() as uow:
            asked = set(uow.session.scalars(select(AuditEvent.subject).where(
                AuditEvent.action.in_(("extension_requested", "cancellation_requested")))))
            due = [(e.ref, e.departure, uow.session.scalars(select(User.username).where(
                User.organisation_id == e.visitor_org_id).order_by(User.id)).first())
                for e in uow.session.scalars(select(Exchange).where(
                    Exchange.arrival < today, Exchange.departure > today, Exchange.status == "visit_planned"))
                if e.ref not in asked]
        for ref, departure, username in due:
            if departure is None or username is None:  # a planned visit has its dates; the visitor a user
                continue
            kind = self.scenarios.get(ref, Scenario()).kind
            if kind == "extension":
                request_extension(self.app, ref, self._as(username), departure + timedelta(days=7),
                                  "The host invited us to a second matchmaking round.")
            elif kind == "cancelled":
                cancel_exchange(self.app, ref, self._as(username), "Our delegate fell ill and had to return home.")

    # ---- the administrator -----------------------------------------------------------------------
    def budget_office(self, today: date) -> None:
        """Grants waiting for budget some working days (1-3, from the seed): raise the call's budget
        by the shortfall, rounded up to EUR 100."""
        if not self.raises_budgets:
            return
        with self.app.uow() as uow:
            todo = []
            for call in uow.session.scalars(select(Call).order_by(Call.id)):
                waiting = list(uow.session.scalars(select(Claim).where(
                    Claim.call_id == call.id, Claim.status == ClaimStatus.WAITING_BUDGET)))
                if not waiting:
                    continue
                first = min(c.created_at for c in waiting).astimezone(BRUSSELS).date()
                rng = random.Random(f"{self.seed}:budget:{call.code}:{len(waiting)}")
                ready = first
                for _ in range(rng.randint(1, 3)):
                    ready = next_working_day(ready)
                if today < ready:
                    continue
                totals = budget_totals(uow.session, call.id)
                used = totals["committed"] + totals["paid"]
                need = used + sum((c.amount for c in waiting), Decimal(0))
                new = (need / 100).to_integral_value(rounding=ROUND_CEILING) * 100
                if new > call.budget:
                    todo.append((call.code, new))
        for code, new in todo:
            change_budget(self.app, code, self._as("admin"), f"{new:.2f}",
                          "The partners confirmed their co-funding: the budget covers the waiting grants.")
