"""The HTTP API on a real database, built once per module: the tiny programme of
tests/workflows/builders.py driven until every route has a real id to ask for, a third partnership
(CXP-EAST) whose officer and finance user have nothing to do with the exchange, a bearer token per
person, and a TestClient of `create_app(application=app)`.

The state (`World`):
- the exchange of North's visitor and South's host, evidence submitted: its open task is North's
  `validate_evidence` (an officer task: claim, unclaim, reassign, complete are all meaningful);
- a created payment batch of North (approved claims of North, approved by North's second officer),
  and one of East.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from benchmarks.payment_batch import seed_approved_claims
from tests.conftest import fresh_postgres_url
from tests.workflows.builders import (
    ADMIN,
    AUDITOR,
    FINANCE,
    OFFICER,
    OUTSIDER,
    SECOND_OFFICER,
    VISITOR,
    Programme,
    build_programme,
    evidence,
)
from workflows.app import App
from workflows.db.process_models import AuditEvent, HumanTask, PaymentBatch
from workflows.services.access import SYSTEM, principal_by_name
from workflows.services.setup import init_database

EAST_OFFICER = "approver.cxp-east"  # made by seed_approved_claims with the CXP-EAST partnership
EAST_FINANCE = "finance.cxp-east"

# Who asks: the principals of the permission matrix (None: no Authorization header).
PRINCIPALS: dict[str, str | None] = {
    "anonymous": None,
    "applicant": VISITOR,             # the visiting organisation's applicant
    "outsider": OUTSIDER,             # an applicant of an unrelated organisation
    "officer": OFFICER,               # North: the visitor's partnership
    "officer_other": EAST_OFFICER,    # East: nothing to do with the exchange
    "finance": FINANCE,               # North
    "finance_other": EAST_FINANCE,    # East
    "auditor": AUDITOR,
    "admin": ADMIN,
}


@dataclass
class World:
    """What the API tests ask for: the application, its ids, a token per principal."""

    app: App
    prog: Programme
    task_id: int
    instance_id: int
    exchange_ref: str
    batch: str          # North's created batch (message id)
    east_batch: str     # East's created batch
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        token = self.tokens.get(who)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def events(self, *actions: str, after_id: int = 0) -> list[AuditEvent]:
        with self.app.uow() as uow:
            rows = list(uow.session.scalars(select(AuditEvent).where(
                AuditEvent.action.in_(actions), AuditEvent.id > after_id).order_by(AuditEvent.id)))
            uow.session.expunge_all()
            return rows

    def last_event_id(self) -> int:
        with self.app.uow() as uow:
            return uow.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0

    def task(self, task_id: int | None = None) -> HumanTask:
        with self.app.uow() as uow:
            row = uow.session.get(HumanTask, task_id or self.task_id)
            uow.session.expunge_all()
            return row

    def batch_row(self, msg_id: str) -> PaymentBatch:
        with self.app.uow() as uow:
            row = uow.session.scalars(select(PaymentBatch).where(PaymentBatch.msg_id == msg_id)).one()
            uow.session.expunge_all()
            return row


def fresh_assessment(world: World) -> int:
    """A new organisation of North applies as a visitor: the id of its open `assess_application` task
    (North's officer lane), for tests that complete a task."""
    from datetime import date

    from workflows.db.models import Application, Organisation
    from workflows.services.lifecycle import submit_application

    prog = world.prog
    with world.app.uow() as uow:
        n = len(uow.session.scalars(select(Organisation.id)).all()) + 1
        org = Organisation(legal_id=f"BE{900000000 + n}", legal_name=f"Fresh Cluster {n}", org_type="cluster_organisation",
                           cluster_member=True, country="BE", city="Liège", latitude=50.63, longitude=5.57,
                           sectors=["digital"], contact_email=f"fresh{n}@example.org", iban="BE71096123456769",
                           account_holder=f"Fresh Cluster {n}", partnership_id=prog.north_id)
        uow.session.add(org)
        uow.session.flush()
        application = Application(call_id=prog.call_id, organisation_id=org.id, partnership_id=prog.north_id,
                                  role="visitor", format="exchange_visit", date_from=date(2027, 2, 1),
                                  date_to=date(2027, 3, 1), sectors=["digital"], wished_countries=["AT"],
                                  motivation="We want to learn from peers abroad.", declaration_given=True,
                                  audit_rights_accepted=True, submitted_at=uow.now())
        uow.session.add(application)
        uow.session.flush()
        instance = submit_application(world.app, uow, application)
        uow.commit()
        instance_id = instance.id
    return prog.open_task("assess_application", instance_id).id


def fresh_exchange(world: World) -> str:
    """A new North visitor's exchange, just submitted (its officers may cancel it): its reference."""
    task_id = fresh_assessment(world)
    with world.app.uow() as uow:
        ref = uow.session.get(HumanTask, task_id).subject_ref
    assert ref
    return ref


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`database_url` of tests/conftest.py, once per module: a SQLite file, or a new PostgreSQL
    database dropped afterwards."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('api')}/cxp.db"
    return fresh_postgres_url(request)


def open_app(database_url: str, files: Path) -> App:
    from workflows.settings import Settings

    application = App(Settings(database_url=database_url, files_dir=files))
    init_database(application)
    return application


def _resync_sequences(application: App, *tables: str) -> None:
    """PostgreSQL: move the id sequences past the ids `seed_approved_claims` inserted explicitly."""
    from sqlalchemy import text

    if application.db.dialect.name != "postgresql":
        return
    with application.db.begin() as conn:
        for table in tables:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))


def build_world(application: App) -> World:
    """The programme driven to North's open `validate_evidence`, then batches of North and East."""
    from workflows.services.payments import run_payment_batches

    prog = build_programme(application)
    prog.awaiting_evidence()
    prog.complete("submit_evidence", VISITOR, evidence())
    task = prog.open_task("validate_evidence")
    # approved claims (bulk, no processes) after the lifecycle's own rows: refs far from EX-000001
    seed_approved_claims(application, 2, partnership_code="CXP-NORTH", approver_username=SECOND_OFFICER,
                         ref_offset=100)
    seed_approved_claims(application, 1, partnership_code="CXP-EAST", ref_offset=200)
    _resync_sequences(application, "applications", "exchanges")
    made = {b["partnership"]: b["batch"] for b in run_payment_batches(application)["batches"]}
    world = World(application, prog, task.id, prog.instance_id, prog.exchange_ref, made["CXP-NORTH"],
                  made["CXP-EAST"])
    from workflows.services.tokens import issue_token

    for who, username in PRINCIPALS.items():
        if username:
            world.tokens[who] = issue_token(application, SYSTEM, username, name="api-tests").token
    assert principal_by_name(application, EAST_OFFICER).role == "officer"
    return world


@pytest.fixture(scope="module")
def world(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    files = tmp_path_factory.mktemp("files")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CXP_FILES_DIR", str(files))
        application = open_app(module_database_url, files)
        try:
            yield build_world(application)
        finally:
            application.close()


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from workflows.web.app import create_app

    with TestClient(create_app(application=world.app), raise_server_exceptions=False) as test_client:
        yield test_client
