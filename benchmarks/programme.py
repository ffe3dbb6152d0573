"""A minimal programme on a fresh database, driven through the product's services for the benchmark."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from workflows.app import App
from workflows.audit import verify
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
from workflows.db.process_models import HumanTask
from workflows.demo.data import BRUSSELS
from workflows.services.access import Principal, principal_by_name
from workflows.services.inbox import complete_task
from workflows.services.lifecycle import advance_clock, deliver, instance_for, submit_application
from workflows.services.setup import init_database
from workflows.settings import Settings

START = datetime(2027, 1, 4, 9, 0, tzinfo=BRUSSELS)
VISIT_OVER = timedelta(days=69)  # 2027-01-04 -> 2027-03-14


class Programme:
    def __init__(self, database_url: str, files_dir: Path) -> None:
        self.app = App(Settings(database_url=database_url, files_dir=files_dir))
        self._principals: dict[str, Principal] = {}
        init_database(self.app)
        with self.app.uow() as uow:
            uow.clock.set(START)
            p = Partnership(code="BENCH", name="Bench", debtor_name="Bench", debtor_iban="BE68539007547034",
                            debtor_bic=None, country="BE")
            host = Organisation(legal_id="AT-HOST", legal_name="Host Cluster Vienna", org_type="cluster_organisation",
                                cluster_member=True, country="AT", city="Vienna", latitude=48.2, longitude=16.37,
                                sectors=["digital"], contact_email="host@example.org")
            uow.session.add_all([p, host])
            uow.session.flush()
            host.partnership_id = p.id
            call = Call(code="BENCH-1", title="Bench", lead_partnership_id=p.id, opens_on=date(2027, 1, 1),
                        closes_on=date(2027, 2, 28), matching_deadline=datetime(2027, 5, 1, tzinfo=BRUSSELS),
                        budget=Decimal("100000000.00"), rule_set_version="2026.1", formats=["exchange_visit"],
                        status="open", partnerships=[p])
            uow.session.add(call)
            for name, role in (("officer1", "officer"), ("officer2", "officer"), ("finance", "finance")):
                uow.session.add(User(username=name, display_name=name, email=f"{name}@example.org", role=role,
                                     partnership_id=p.id))
            uow.session.add(User(username="host", display_name="host", email="host@example.org", role="applicant",
                                 organisation=host))
            uow.session.flush()
            host_app = Application(call_id=call.id, organisation_id=host.id, partnership_id=p.id, role="host",
                                   date_from=date(2027, 3, 1), date_to=date(2027, 4, 30), capacity=100000,
                                   declaration_given=True, submitted_at=uow.now(), status="published")
            uow.session.add(host_app)
            uow.commit()
            self.partnership_id, self.call_id, self.host_org_id, self.host_app_id = p.id, call.id, host.id, host_app.id
        self.exchanges: list[int] = []

    @classmethod
    def on_existing(cls, app: App, ids: dict[str, int], exchanges: list[int]) -> Programme:
        """The programme another process set up on `app`'s database (no new programme): its ids."""
        programme = cls.__new__(cls)
        programme.app = app
        programme._principals = {}  # noqa: SLF001 - what __init__ would set, on an instance of this class
        programme.partnership_id, programme.call_id = ids["partnership"], ids["call"]
        programme.host_org_id, programme.host_app_id = ids["host_org"], ids["host_app"]
        programme.exchanges = exchanges
        return programme

    def submit(self, i: int) -> None:
        with self.app.uow() as uow:
            org = Organisation(legal_id=f"BE-V{i:07d}", legal_name=f"Visitor {i}", org_type="cluster_organisation",
                               cluster_member=True, country="BE", city="Ghent", latitude=51.05, longitude=3.72,
                               sectors=["digital"], contact_email=f"v{i}@example.org", iban="BE71096123456769",
                               account_holder=f"Visitor {i}", partnership_id=self.partnership_id)
            uow.session.add(org)
            uow.session.flush()
            uow.session.add(User(username=f"v{i}", display_name=f"v{i}", email=f"v{i}@example.org",
                                 role="applicant", organisation_id=org.id))
            app_row = Application(call_id=self.call_id, organisation_id=org.id, partnership_id=self.partnership_id,
                                  role="visitor", date_from=date(2027, 3, 1), date_to=date(2027, 3, 31),
                                  declaration_given=True, audit_rights_accepted=True, submitted_at=uow.now())
            uow.session.add(app_row)
            uow.session.flush()
            instance = submit_application(self.app, uow, app_row)
            uow.commit()
            self.exchanges.append(instance.subject_id)

    def task_of(self, exchange_id: int, spec: str) -> int:
        with self.app.uow() as uow:
            instance = instance_for(uow, "exchange", exchange_id)
            return uow.session.scalars(select(HumanTask.id).where(
                HumanTask.instance_id == instance.id, HumanTask.task_spec == spec, HumanTask.status == "open")).one()

    def principal(self, username: str) -> Principal:
        """The user as the principal their entry point resolves (once per session, as the web does)."""
        known = self._principals.get(username)
        if known is None:
            known = self._principals[username] = principal_by_name(self.app, username)
        return known

    def actor(self, spec: str, i: int) -> str:
        if spec in ("approve_payment", "sign_commitment_host_officer"):
            return "officer2"  # R-4EYES: a second officer approves payments and gives the second signature
        if spec in ("host_accept_match", "sign_commitment_host"):
            return "host"
        if spec in ("visitor_accept_match", "agree_commitment", "sign_commitment_visitor", "submit_evidence"):
            return f"v{i}"
        return "officer1"

    def message(self, exchange_id: int, name: str) -> None:
        with self.app.uow() as uow:
            exchange = uow.session.get(Exchange, exchange_id)
            if name == "match_proposed":
                proposal = MatchProposal(call_id=self.call_id, round=1, visitor_application_id=exchange.visitor_application_id,
                                         host_application_id=self.host_app_id, score=Decimal("50"), explanation={},
                                         status="sent", created_at=uow.now())
                uow.session.add(proposal)
                uow.session.flush()
                payload = {"exchange_id": exchange_id, "proposal_id": proposal.id,
                           "host_application_id": self.host_app_id, "host_org_id": self.host_org_id,
                           "host_partnership_id": self.partnership_id, "host_name": "Host Cluster Vienna"}
            else:
                claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == exchange_id)).one()
                claim.status, claim.paid_at = ClaimStatus.PAID, uow.now()
                payload = {"paid_amount": str(claim.amount)}
            deliver(self.app, uow, instance_for(uow, "exchange", exchange_id), name, payload)
            uow.commit()

    def upload_cited(self, exchange_id: int, principal: Any) -> None:
        """The visitor uploads the certificate its closing report cites, as in the browser."""
        from benchmarks.lifecycle import CERTIFICATE
        from workflows.services.evidence import upload_evidence

        with self.app.uow() as uow:
            ref = uow.session.get(Exchange, exchange_id).ref
        upload_evidence(self.app, principal, ref, "a.pdf", "attendance_certificate", CERTIFICATE)

    def run(self, n: int, steps: list[tuple[str, dict[str, Any]]]) -> None:
        for i in range(n):
            self.submit(i)
        for spec, form in steps:
            if spec == "@visit_ends":
                advance_clock(self.app, VISIT_OVER, step=VISIT_OVER)
                continue
            for i, exchange_id in enumerate(self.exchanges):
                if spec.startswith("@"):
                    self.message(exchange_id, spec[1:])
                else:
                    task_id, principal = self.task_of(exchange_id, spec), self.principal(self.actor(spec, i))
                    if spec == "submit_evidence":
                        self.upload_cited(exchange_id, principal)
                    complete_task(self.app, task_id, principal, form)

    def closed(self) -> int:
        with self.app.uow() as uow:
            return len(list(uow.session.scalars(select(Exchange.id).where(Exchange.status == "closed"))))

    def audit_ok(self) -> bool:
        with self.app.uow() as uow:
            return verify(uow.session).ok
