"""The demo programme on a fresh database: thirty applications driven through every stage in simulated
time end in final states, with the scenarios they were written for, a verified audit trail and payments
that add up."""
from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from workflows import audit
from workflows.app import App
from workflows.db.models import Call, Claim, Exchange, MatchProposal
from workflows.db.process_models import AuditEvent, PaymentLine, ProcessInstance
from workflows.demo.run import run_demo
from workflows.settings import Settings

POSTGRES_URL = os.environ.get("CXP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FINAL_STATES = {"ineligible", "rejected", "withdrawn", "not_matched", "cancelled", "closed_without_grant", "closed"}
SCENARIO_EVENTS = ("extension_applied", "exchange_cancelled", "evidence_overdue_escalated", "payment_rejected",
                   "bank_details_corrected")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, dict]]:
    """The demo run once per database for the whole module (about 8 s on SQLite)."""
    folder = tmp_path_factory.mktemp(f"demo-{request.param}")
    if request.param == "sqlite":
        url, cleanup = f"sqlite:///{folder}/cxp.db", None
    else:
        url, cleanup = _fresh_postgres_database()
    app = App(Settings(database_url=url, files_dir=folder / "files"))
    try:
        yield app, run_demo(app, seed=7, progress=False)
    finally:
        app.close()
        if cleanup:
            cleanup()


def _fresh_postgres_database() -> tuple[str, Any]:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"cxp_demo_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:  # no server, wrong URL, no driver
        admin.dispose()
        pytest.skip(f"PostgreSQL does not answer at {POSTGRES_URL}: {type(err).__name__}")

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), drop


def test_every_exchange_ends_in_a_final_state(demo: tuple[App, dict]) -> None:
    app, summary = demo
    with app.uow() as uow:
        states = dict(uow.session.execute(select(Exchange.status, func.count()).group_by(Exchange.status)).all())
    assert set(states) <= FINAL_STATES
    assert states == summary["exchanges_by_state"]
    assert sum(states.values()) == summary["exchanges"] == 30
    assert states.get("closed", 0) >= 10


def test_every_process_instance_is_completed(demo: tuple[App, dict]) -> None:
    app, summary = demo
    with app.uow() as uow:
        statuses = dict(uow.session.execute(
            select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)).all())
        exchanges = uow.session.scalar(select(func.count(Exchange.id)))
    assert set(statuses) == {"completed"}
    assert statuses["completed"] > exchanges  # the exchanges, the hosting offers and the call
    assert summary["instances_by_status"] == statuses


def test_the_audit_trail_verifies(demo: tuple[App, dict]) -> None:
    app, summary = demo
    with app.uow() as uow:
        result = audit.verify(uow.session)
    assert result.ok and result.events > 1000
    assert summary["audit"] == {"ok": True, "events": result.events}


def test_the_scenarios_of_the_demo_happened(demo: tuple[App, dict]) -> None:
    app, _ = demo
    with app.uow() as uow:
        actions = dict(uow.session.execute(select(AuditEvent.action, func.count()).where(
            AuditEvent.action.in_(SCENARIO_EVENTS)).group_by(AuditEvent.action)).all())
        declined = uow.session.scalar(select(func.count(MatchProposal.id)).where(MatchProposal.status == "declined"))
    assert {action: actions.get(action, 0) >= 1 for action in SCENARIO_EVENTS} == dict.fromkeys(SCENARIO_EVENTS, True)
    assert declined >= 1


def test_the_total_paid_is_the_sum_of_paid_claims_within_the_budget(demo: tuple[App, dict]) -> None:
    app, summary = demo
    with app.uow() as uow:
        paid = [amount for amount in uow.session.scalars(select(Claim.amount).where(Claim.status == "paid"))]
        budget = uow.session.scalar(select(Call.budget))
        closed = uow.session.scalar(select(func.count(Exchange.id)).where(Exchange.status == "closed"))
    total = sum(paid, Decimal("0"))
    assert Decimal(summary["total_paid_eur"]) == total > 0
    assert total <= budget
    assert len(paid) == closed
    assert all(Decimal("0") < amount <= Decimal("1100.00") for amount in paid)


def test_no_claim_is_paid_twice(demo: tuple[App, dict]) -> None:
    app, _ = demo
    with app.uow() as uow:
        executed = dict(uow.session.execute(select(PaymentLine.claim_id, func.count()).where(
            PaymentLine.status == "executed").group_by(PaymentLine.claim_id)).all())
        paid = set(uow.session.scalars(select(Claim.id).where(Claim.status == "paid")))
        amounts = dict(uow.session.execute(select(Claim.id, Claim.amount).where(Claim.status == "paid")).all())
        line_amounts = dict(uow.session.execute(select(PaymentLine.claim_id, PaymentLine.amount).where(
            PaymentLine.status == "executed")).all())
    assert set(executed) == paid
    assert set(executed.values()) == {1}
    assert line_amounts == amounts


def test_the_batch_and_bank_files_were_written(demo: tuple[App, dict]) -> None:
    _, summary = demo
    files = [Path(f) for f in summary["files_written"]]
    assert files and all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert any(f.suffix == ".xml" and "pain.001" in f.read_text(encoding="utf-8", errors="replace") for f in files)
