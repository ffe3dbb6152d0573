"""A tiny programme to drive one exchange by hand through the real services.

Two partnerships (North in Belgium, South in Austria), a visitor organisation in Brussels and a host
in Vienna, a third organisation that has nothing to do with the exchange, their users, one call,
a published host offer and a visitor application. `Programme` then offers the few verbs a test
needs — complete a task as someone, move the simulated clock, propose the match — all through the
same service functions the CLI and the web call.

Dates: the clock starts on Monday 11 January 2027, the day the call opens. The planned visit runs
from Sunday 7 to Saturday 13 February 2027 (five working days in Austria, about 900 km apart).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from workflows.app import App
from workflows.db.models import (
    Application,
    Call,
    ConflictDeclaration,
    Exchange,
    MatchProposal,
    Organisation,
    Partnership,
    User,
)
from workflows.db.process_models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance
from workflows.services.access import Principal, principal_by_name
from workflows.services.inbox import complete_task
from workflows.services.lifecycle import advance_clock, deliver, instance_for, submit_application
from workflows.services.outputs import CompletionOut

BRUSSELS = ZoneInfo("Europe/Brussels")
START = datetime(2027, 1, 11, 10, 0, tzinfo=BRUSSELS)
ARRIVAL = date(2027, 2, 7)
DEPARTURE = date(2027, 2, 13)

# Usernames of the tiny programme.
OFFICER = "officer1.north"          # first officer of the visitor's partnership
SECOND_OFFICER = "officer2.north"   # a second officer of the same partnership (R-4EYES)
SOUTH_OFFICER = "officer.south"     # officer of the host's partnership
FINANCE = "finance.north"
VISITOR = "visitor"                 # applicant of the visiting organisation
HOST = "host"                       # applicant of the host organisation
OUTSIDER = "outsider"               # applicant of an unrelated organisation
ADMIN = "admin"
AUDITOR = "auditor"                 # reads every partnership, changes nothing


def as_user(app: App, username: str) -> Principal:
    """The user `username` as the principal an entry point resolves from `--user` or a session."""
    return principal_by_name(app, username)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- valid form data (as the demo's people answer) ------------------------------------------------
def approve() -> dict[str, Any]:
    return {"decision": "approve", "comment": "Eligible and well motivated."}


def accept_match() -> dict[str, Any]:
    return {"accept": True, "reason": None}


def commitment(arrival: date = ARRIVAL, departure: date = DEPARTURE) -> dict[str, Any]:
    return {
        "arrival": arrival.isoformat(), "departure": departure.isoformat(),
        "agenda": "Day 1 joint learning event; days 2-3 B2B matchmaking; days 4-5 study visit.",
        "activities": [
            {"kind": "joint_learning_event", "title": "Digital transformation training", "on": None},
            {"kind": "matchmaking", "title": "B2B meetings with host members", "on": None},
            {"kind": "study_visit", "title": "Visit of the host's pilot lines", "on": None},
        ],
    }


def signature(name: str = "Signatory") -> dict[str, Any]:
    return {"signed": True, "signatory_name": name}


# The evidence files the visitor uploads before citing them (`Programme.complete` stores them first).
ATTENDANCE_PDF = b"%PDF-1.4\n% the host's attendance certificate\n%%EOF\n"
BOARDING_PASS_PDF = b"%PDF-1.4\n% a boarding pass\n%%EOF\n"
EVIDENCE_FILES = {hashlib.sha256(data).hexdigest(): data for data in (ATTENDANCE_PDF, BOARDING_PASS_PDF)}


def evidence(attended: list[date] | None = None) -> dict[str, Any]:
    days = attended if attended is not None else [ARRIVAL + timedelta(days=i) for i in range(1, 6)]
    return {
        "attended_days": [d.isoformat() for d in days],
        "documents": [
            {"kind": "attendance_certificate", "filename": "attendance.pdf",
             "sha256": hashlib.sha256(ATTENDANCE_PDF).hexdigest(), "size": len(ATTENDANCE_PDF)},
            {"kind": "boarding_pass", "filename": "boarding-pass.pdf",
             "sha256": hashlib.sha256(BOARDING_PASS_PDF).hexdigest(), "size": len(BOARDING_PASS_PDF)},
        ],
        "activities_done": ["joint_learning_event", "matchmaking", "study_visit"],
        "feedback_rating": 5, "feedback_comment": "Very useful.",
    }


def accept_evidence() -> dict[str, Any]:
    return {"decision": "accept", "comment": "Evidence complete."}


# ---- the programme ---------------------------------------------------------------------------------
def _org(n: int, name: str, country: str, city: str, lat: float, lon: float, partnership: Partnership,
         iban: str) -> Organisation:
    return Organisation(
        legal_id=f"{country}{100000000 + n}", legal_name=name, org_type="cluster_organisation",
        cluster_member=True, country=country, city=city, latitude=lat, longitude=lon,
        sectors=["digital", "health", "agri_food"], contact_email=f"contact@{name.split()[0].lower()}.example",
        iban=iban, account_holder=name, partnership_id=partnership.id,
    )


@dataclass
class Programme:
    app: App
    call_id: int = 0
    north_id: int = 0
    south_id: int = 0
    visitor_org_id: int = 0
    host_org_id: int = 0
    outsider_org_id: int = 0
    host_application_id: int = 0
    users: dict[str, int] = field(default_factory=dict)
    exchange_id: int | None = None
    exchange_ref: str | None = None
    instance_id: int | None = None

    # -- reading -------------------------------------------------------------------------------------
    def open_task(self, spec: str, instance_id: int | None = None) -> HumanTask:
        """The one open human task `spec` of the exchange (or of `instance_id`)."""
        with self.app.uow() as uow:
            rows = list(uow.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == (instance_id or self.instance_id), HumanTask.task_spec == spec,
                HumanTask.status == "open")))
            uow.session.expunge_all()
        assert len(rows) == 1, f"expected one open '{spec}' task, found {len(rows)}: {self.open_specs()}"
        return rows[0]

    def open_specs(self, instance_id: int | None = None) -> list[str]:
        with self.app.uow() as uow:
            return sorted(uow.session.scalars(select(HumanTask.task_spec).where(
                HumanTask.instance_id == (instance_id or self.instance_id), HumanTask.status == "open")))

    def instance(self, instance_id: int | None = None) -> ProcessInstance:
        """The instance row, its serialized state loaded (the state may be a deferred column)."""
        with self.app.uow() as uow:
            row = uow.session.get(ProcessInstance, instance_id or self.instance_id)
            assert row.state is not None
            uow.session.expunge_all()
            return row

    def exchange(self) -> Exchange:
        return self._get(Exchange, self.exchange_id)

    def _get(self, model: type, key: int) -> Any:
        """A row read in its own unit of work, detached so its attributes stay readable."""
        with self.app.uow() as uow:
            row = uow.session.get(model, key)
            uow.session.expunge_all()
            return row

    def events(self, action: str | None = None) -> list[AuditEvent]:
        with self.app.uow() as uow:
            query = select(AuditEvent).order_by(AuditEvent.id)
            if action:
                query = query.where(AuditEvent.action == action)
            rows = list(uow.session.scalars(query))
            uow.session.expunge_all()
            return rows

    def emails(self, template: str | None = None) -> list[OutboxMessage]:
        with self.app.uow() as uow:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if template:
                query = query.where(OutboxMessage.template == template)
            rows = list(uow.session.scalars(query))
            uow.session.expunge_all()
            return rows

    def now(self) -> datetime:
        with self.app.uow() as uow:
            return uow.now()

    def snapshot(self) -> dict[str, Any]:
        """Everything a refused action must leave untouched."""
        with self.app.uow() as uow:
            s = uow.session
            instance = s.get(ProcessInstance, self.instance_id)
            tasks = [(t.id, t.task_spec, t.status, t.assignee_id, t.completed_by)
                     for t in s.scalars(select(HumanTask).order_by(HumanTask.id))]
            exchange = s.get(Exchange, self.exchange_id)
            return {
                "lock_version": instance.lock_version, "state": instance.state, "status": instance.status,
                "tasks": tasks, "exchange": (exchange.status, exchange.departure, exchange.evidence),
                "emails": s.scalar(select(func.count(OutboxMessage.id))),
                "events": s.scalar(select(func.count(AuditEvent.id))),
            }

    # -- acting --------------------------------------------------------------------------------------
    def principal(self, username: str) -> Principal:
        """The user `username` as the principal an entry point resolves from `--user` or a session."""
        return principal_by_name(self.app, username)

    def complete(self, spec: str, username: str, data: dict[str, Any],
                 instance_id: int | None = None) -> CompletionOut:
        """Complete the open task `spec` as `username`; a closing report's builder files (`evidence()`)
        are uploaded for its exchange first, as a person does before citing them."""
        task = self.open_task(spec, instance_id)
        if spec == "submit_evidence" and task.subject_ref:
            self.upload_cited(task.subject_ref, data)
        return complete_task(self.app, task.id, self.principal(username), data)

    def upload_cited(self, ref: str, data: dict[str, Any]) -> None:
        """Upload (as an administrator) the builder files the closing report `data` cites."""
        from workflows.services.evidence import upload_evidence

        uploader = Principal(None, "test-uploader", "administrator")
        for doc in data.get("documents", []):
            content = EVIDENCE_FILES.get(doc.get("sha256", ""))
            if content is not None:
                upload_evidence(self.app, uploader, ref, doc["filename"], doc["kind"], content)

    def advance(self, delta: timedelta) -> dict[str, Any]:
        return advance_clock(self.app, delta)

    def advance_to(self, moment: datetime) -> dict[str, Any]:
        return advance_clock(self.app, moment - self.now())

    def declare_conflict(self, username: str, organisation_id: int) -> None:
        with self.app.uow() as uow:
            uow.session.add(ConflictDeclaration(user_id=self.users[username], organisation_id=organisation_id,
                                                declared_at=uow.now()))
            uow.commit()

    # -- the lifecycle, step by step -----------------------------------------------------------------
    def submit_visitor_application(self) -> Programme:
        with self.app.uow() as uow:
            application = Application(
                call_id=self.call_id, organisation_id=self.visitor_org_id, partnership_id=self.north_id,
                role="visitor", format="exchange_visit", date_from=date(2027, 2, 1), date_to=date(2027, 3, 1),
                sectors=["digital"], wished_countries=["AT"], motivation="We want to learn from peers abroad.",
                declaration_given=True, audit_rights_accepted=True, submitted_at=uow.now(),
            )
            uow.session.add(application)
            uow.session.flush()
            instance = submit_application(self.app, uow, application)
            uow.commit()
            self.instance_id, self.exchange_id = instance.id, instance.subject_id
        self.exchange_ref = self.exchange().ref
        return self

    def assessed(self) -> Programme:
        self.complete("assess_application", OFFICER, approve())
        return self

    def propose_match(self) -> Programme:
        """What the call's matching round sends: a proposal row and the `match_proposed` message."""
        with self.app.uow() as uow:
            exchange = uow.session.get(Exchange, self.exchange_id)
            proposal = MatchProposal(call_id=self.call_id, round=1, visitor_application_id=exchange.visitor_application_id,
                                     host_application_id=self.host_application_id, score=Decimal("0.8"),
                                     explanation={}, status="sent", created_at=uow.now())
            uow.session.add(proposal)
            uow.session.flush()
            deliver(self.app, uow, instance_for(uow, "exchange", exchange.id), "match_proposed", {
                "exchange_id": exchange.id, "proposal_id": proposal.id,
                "host_application_id": self.host_application_id, "host_org_id": self.host_org_id,
                "host_partnership_id": self.south_id, "host_name": "Helix Cluster Vienna", "score": "0.8",
            })
            uow.commit()
        return self

    def matched(self) -> Programme:
        self.propose_match()
        self.complete("visitor_accept_match", VISITOR, accept_match())
        self.complete("host_accept_match", HOST, accept_match())
        return self

    def committed(self, arrival: date = ARRIVAL, departure: date = DEPARTURE) -> Programme:
        self.complete("agree_commitment", VISITOR, commitment(arrival, departure))
        self.complete("sign_commitment_visitor", VISITOR, signature("Vera Visitor"))
        self.complete("sign_commitment_host", HOST, signature("Hans Host"))
        self.complete("sign_commitment_visitor_officer", OFFICER, signature("Olga Officer"))
        self.complete("sign_commitment_host_officer", SOUTH_OFFICER, signature("Sepp Officer"))
        return self

    def visited(self) -> Programme:
        """Let the planned visit end: the clock passes the departure day's 18:00."""
        self.advance_to(datetime(DEPARTURE.year, DEPARTURE.month, DEPARTURE.day, 20, 0, tzinfo=BRUSSELS))
        return self

    def awaiting_evidence(self) -> Programme:
        return self.submit_visitor_application().assessed().matched().committed().visited()


def build_programme(app: App) -> Programme:
    """Partnerships, users, organisations, a call and a published host offer, at START."""
    prog = Programme(app)
    with app.uow() as uow:
        s = uow.session
        uow.clock.set(START)
        north = Partnership(code="CXP-NORTH", name="ClusterXchange North", debtor_name="Cluster Alliance North",
                            debtor_iban="BE68539007547034", debtor_bic="GKCCBEBB", country="BE")
        south = Partnership(code="CXP-SOUTH", name="ClusterXchange South", debtor_name="Southern Cluster Network",
                            debtor_iban="AT611904300234573201", debtor_bic=None, country="AT")
        s.add_all([north, south])
        s.flush()
        visitor = _org(1, "Nova Cluster Brussels", "BE", "Brussels", 50.8503, 4.3517, north, "BE71096123456769")
        host = _org(2, "Helix Cluster Vienna", "AT", "Vienna", 48.2082, 16.3738, south, "AT611904300234573201")
        outsider = _org(3, "Orbit Cluster Ghent", "BE", "Ghent", 51.0543, 3.7174, north, "BE68539007547034")
        s.add_all([visitor, host, outsider])
        s.flush()
        people = [
            User(username=ADMIN, display_name="Support Office", email="support@cx.local", role="administrator"),
            User(username=OFFICER, display_name="Olga Officer", email="o1@cx.local", role="officer", partnership_id=north.id),
            User(username=SECOND_OFFICER, display_name="Otto Officer", email="o2@cx.local", role="officer",
                 partnership_id=north.id),
            User(username=SOUTH_OFFICER, display_name="Sepp Officer", email="os@cx.local", role="officer",
                 partnership_id=south.id),
            User(username=FINANCE, display_name="Fiona Finance", email="fin@cx.local", role="finance",
                 partnership_id=north.id),
            User(username=VISITOR, display_name="Vera Visitor", email=visitor.contact_email, role="applicant",
                 organisation_id=visitor.id),
            User(username=HOST, display_name="Hans Host", email=host.contact_email, role="applicant",
                 organisation_id=host.id),
            User(username=OUTSIDER, display_name="Oscar Outsider", email=outsider.contact_email, role="applicant",
                 organisation_id=outsider.id),
            User(username=AUDITOR, display_name="Ada Auditor", email="audit@cx.local", role="auditor"),
        ]
        s.add_all(people)
        call = Call(code="CXP-TEST-01", title="Test call", lead_partnership_id=north.id,
                    opens_on=date(2027, 1, 11), closes_on=date(2027, 3, 5),
                    matching_deadline=datetime(2027, 5, 28, 18, 0, tzinfo=BRUSSELS), budget=Decimal("30000.00"),
                    rule_set_version="2026.1", formats=["exchange_visit"], status="open", partnerships=[north, south])
        s.add(call)
        s.flush()
        host_app = Application(
            call_id=call.id, organisation_id=host.id, partnership_id=south.id, role="host", format="exchange_visit",
            date_from=date(2027, 1, 25), date_to=date(2027, 4, 30), sectors=["digital"], capacity=2,
            topics=["digital"], activities_offered=["joint_learning_event", "matchmaking", "study_visit"],
            motivation="We host peers.", declaration_given=True, audit_rights_accepted=True, submitted_at=uow.now(),
        )
        s.add(host_app)
        s.flush()
        hosting = submit_application(app, uow, host_app)
        uow.commit()
        prog.call_id, prog.north_id, prog.south_id = call.id, north.id, south.id
        prog.visitor_org_id, prog.host_org_id, prog.outsider_org_id = visitor.id, host.id, outsider.id
        prog.host_application_id = host_app.id
        prog.users = {u.username: u.id for u in people}
        hosting_id = hosting.id
    complete_task(app, prog.open_task("approve_host", hosting_id).id, principal_by_name(app, SOUTH_OFFICER),
                  {"decision": "approve", "comment": "Clear offer."})
    return prog


@pytest.fixture
def programme(app: App) -> Programme:
    """The tiny programme on the `app` fixture's fresh database (import this fixture into a module)."""
    return build_programme(app)
