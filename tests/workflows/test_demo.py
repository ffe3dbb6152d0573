"""The demo programme on a fresh database: two calls' applications driven through every stage in
simulated time, by people acting in working hours, end in final states with the paths they were
written for, a verified audit trail, payments that add up and the emails in the local mail sink; the
small demo does the same for a range of seeds; a demo killed part-way continues where it was."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from workflows import audit
from workflows.app import App
from workflows.db.models import Call, Claim, Exchange, MatchProposal
from workflows.db.process_models import AuditEvent, HumanTask, OutboxMessage, PaymentLine, ProcessInstance
from workflows.demo.plan import plan
from workflows.demo.run import DemoError, run_demo
from workflows.services.doctor import stuck_instances
from workflows.settings import Settings

POSTGRES_URL = os.environ.get("CXP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FINAL_STATES = {"ineligible", "rejected", "withdrawn", "not_matched", "cancelled", "closed_without_grant", "closed"}
SCENARIO_EVENTS = ("extension_applied", "exchange_cancelled", "evidence_overdue_escalated", "payment_rejected",
                   "bank_details_corrected", "override_approved", "budget_exhausted", "call_budget_raised")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, dict]]:
    """The full demo run once per database for the whole module."""
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


def _visitors_planned(seed: int, size: str) -> int:
    return sum(1 for p in plan(seed, size) if p.role == "visitor")


def _assert_finished(app: App, summary: dict[str, Any], seed: int, size: str) -> None:
    """Every exchange final, every instance completed, the audit chain intact, nothing stuck."""
    with app.uow() as uow:
        states = dict(uow.session.execute(select(Exchange.status, func.count()).group_by(Exchange.status)).all())
        statuses = dict(uow.session.execute(
            select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)).all())
        verified = audit.verify(uow.session)
        stuck = stuck_instances(uow)
    assert set(states) <= FINAL_STATES, states
    assert sum(states.values()) == summary["exchanges"] == _visitors_planned(seed, size)
    assert states == summary["exchanges_by_state"]
    assert set(statuses) == {"completed"}, statuses
    assert verified.ok and summary["audit"] == {"ok": True, "events": verified.events}
    assert stuck == {"running": 0, "stuck": []} and summary["stuck_instances"] == []


def test_every_exchange_ends_in_a_final_state(demo: tuple[App, dict]) -> None:
    app, summary = demo
    _assert_finished(app, summary, 7, "full")
    assert summary["exchanges_by_state"].get("closed", 0) >= 15


def test_every_process_instance_is_completed(demo: tuple[App, dict]) -> None:
    app, summary = demo
    with app.uow() as uow:
        statuses = dict(uow.session.execute(
            select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)).all())
        exchanges = uow.session.scalar(select(func.count(Exchange.id)))
    assert statuses["completed"] > exchanges + 2  # the exchanges, the hosting offers and the two calls
    assert summary["instances_by_status"] == statuses


def test_the_scenarios_of_the_demo_happened(demo: tuple[App, dict]) -> None:
    app, _ = demo
    with app.uow() as uow:
        actions = dict(uow.session.execute(select(AuditEvent.action, func.count()).where(
            AuditEvent.action.in_(SCENARIO_EVENTS)).group_by(AuditEvent.action)).all())
        declined = uow.session.scalar(select(func.count(MatchProposal.id)).where(MatchProposal.status == "declined"))
    assert {action: actions.get(action, 0) >= 1 for action in SCENARIO_EVENTS} == dict.fromkeys(SCENARIO_EVENTS, True)
    assert declined >= 1


def test_the_paths_no_seed_showed_before_are_shown(demo: tuple[App, dict]) -> None:
    app, summary = demo
    shown = summary["paths"]["shown"]
    scenarios = summary["paths"]["scenarios"]
    assert list(scenarios["short_distance"].values()) == ["closed"]
    assert shown["short_distance_halving"] == list(scenarios["short_distance"])
    assert list(scenarios["budget_wait"].values()) == ["closed"]
    assert set(scenarios["budget_wait"]) <= set(shown["budget_waited_then_committed"])
    assert shown["call_budget_raised"] == ["call:CXP-2027-02"]
    assert shown["grant_override_approved"] == list(scenarios["override"])
    assert shown["not_matched"] and set(scenarios["not_matched"]) <= set(shown["not_matched"])
    assert sorted(shown["country_refused"]) == sorted(scenarios["country"])
    assert shown["already_visited_refused"] == list(scenarios["already_visited"])
    assert len(shown["same_country_override_refused"]) == 1  # the officer's override; the proposal stood
    assert shown["eligible_non_eu_countries"] == ["IS", "NO", "RS", "TR", "UA"]
    assert shown["greek_and_cyrillic_names"] == sorted(
        ["Σύμπλεγμα Καινοτομίας Αθηνών", "Кластер ІТ Львова", "Кластер Нови Сад"])
    assert shown["people_acted_in_working_hours"] is True
    with app.uow() as uow:
        override = uow.session.execute(select(Claim.amount, Claim.approved_by, Claim.validated_by).join(Exchange).where(
            Exchange.ref == shown["grant_override_approved"][0])).one()
        waited = uow.session.scalars(select(Claim.status_reason).join(Exchange).where(
            Exchange.ref.in_(scenarios["budget_wait"]))).all()
        budget = uow.session.scalar(select(Call.budget).where(Call.code == "CXP-2027-02"))
    assert override.amount == Decimal("600.00") and override.approved_by != override.validated_by
    assert waited == [None] and budget > Decimal("500.00")


def test_people_act_in_working_hours_after_realistic_delays(demo: tuple[App, dict]) -> None:
    app, _ = demo
    with app.uow() as uow:
        rows = uow.session.execute(select(HumanTask.role, HumanTask.created_at, HumanTask.completed_at).where(
            HumanTask.status == "completed")).all()
    zone = Settings().timezone
    from zoneinfo import ZoneInfo

    local = [(role, c.astimezone(ZoneInfo(zone)), d.astimezone(ZoneInfo(zone))) for role, c, d in rows]
    assert all(d.weekday() < 5 and (9, 0) <= (d.hour, d.minute) <= (17, 30) for _, _, d in local)
    staff_waits = [(d.date() - c.date()).days for role, c, d in local if role != "applicant"]
    assert min(staff_waits) == 0 and max(staff_waits) >= 5  # the same day, up to a week (5 working days)


def test_the_outbox_went_to_the_local_mail_sink(demo: tuple[App, dict]) -> None:
    app, summary = demo
    with app.uow() as uow:
        statuses = dict(uow.session.execute(select(OutboxMessage.status, func.count())
                                            .group_by(OutboxMessage.status)).all())
    files = sorted(Path(summary["mail_dir"]).glob("*.eml"))
    assert statuses == {"sent": summary["emails_delivered"]} and summary["emails_delivered"] > 40
    assert Path(summary["mail_dir"]) == (Path(app.settings.files_dir) / "mail").resolve()
    assert len(files) == summary["emails_delivered"]
    assert all(f.read_bytes().startswith(b"From: ") or b"\nMessage-ID: <cxp-outbox-" in f.read_bytes() for f in files)


def test_the_total_paid_is_the_sum_of_paid_claims_within_the_budget(demo: tuple[App, dict]) -> None:
    app, summary = demo
    with app.uow() as uow:
        paid = dict(uow.session.execute(select(Claim.call_id, func.sum(Claim.amount)).where(
            Claim.status == "paid").group_by(Claim.call_id)).all())
        budgets = dict(uow.session.execute(select(Call.id, Call.budget)).all())
        amounts = list(uow.session.scalars(select(Claim.amount).where(Claim.status == "paid")))
        closed = uow.session.scalar(select(func.count(Exchange.id)).where(Exchange.status == "closed"))
    assert Decimal(summary["total_paid_eur"]) == sum(amounts, Decimal("0")) > 0
    assert all(paid[c] <= budgets[c] for c in paid)
    assert len(amounts) == closed
    assert all(Decimal("0") < amount <= Decimal("1100.00") for amount in amounts)


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
    assert set(summary["batch_files"]) < set(summary["files_written"])
    assert any(f.suffix == ".xml" and "pain.001" in f.read_text(encoding="utf-8", errors="replace") for f in files)


def test_a_finished_demo_is_refused(demo: tuple[App, dict]) -> None:
    app, _ = demo
    with pytest.raises(DemoError, match=r"holds a finished demo \(seed 7, size full"):
        run_demo(app, seed=7, progress=False)


def test_an_unknown_size_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    try:
        with pytest.raises(DemoError, match="^size: 'huge' is not a demo size"):
            run_demo(app, size="huge", progress=False)
    finally:
        app.close()
    engine = create_engine(f"sqlite:///{tmp_path}/cxp.db")
    try:
        from sqlalchemy import inspect

        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


# seeds 6 and 8 once showed a finished task whose data Spiff changed in place after it was encoded; 1 and 3
# besides (the full demo of seed 7 runs above, on both databases; CI's time is kept under 20 minutes)
@pytest.mark.parametrize("seed", [1, 3, 6, 8])
def test_the_small_demo_finishes_for_every_seed(seed: int, tmp_path: Path) -> None:
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    try:
        summary = run_demo(app, seed=seed, size="small", progress=False)
        _assert_finished(app, summary, seed, "small")
    finally:
        app.close()


def _cli(url: str, files: Path) -> list[str]:
    return [sys.executable, "-m", "workflows.cli.app", "demo", "--db", url, "--size", "small", "--seed", "3",
            "--json"]


def _env(files: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CXP_FILES_DIR": str(files)}


def _simulated_now(url: str) -> datetime | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT now FROM clock_state WHERE id = 1")).first()
    except Exception:  # noqa: BLE001 - the schema is not there yet
        return None
    finally:
        engine.dispose()
    if row is None:
        return None
    value = row[0]
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_killed_demo_continues_where_it_was(tmp_path: Path) -> None:
    url, files = f"sqlite:///{tmp_path}/cxp.db", tmp_path / "files"
    first = subprocess.Popen(_cli(url, files), env=_env(files), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    target = datetime(2027, 4, 15, tzinfo=UTC)  # visits, evidence and payments under way
    deadline = time.monotonic() + 300
    while first.poll() is None and time.monotonic() < deadline:
        now = _simulated_now(url)
        if now is not None and now >= target:
            break
        time.sleep(0.2)
    assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = _simulated_now(url)
    assert killed_at is not None and killed_at >= target

    second = subprocess.run(_cli(url, files), env=_env(files), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "continuing the unfinished demo (seed 3, size small) from 2027-" in second.stderr
    summary = json.loads(second.stdout)
    assert set(summary["exchanges_by_state"]) <= FINAL_STATES
    assert summary["exchanges"] == _visitors_planned(3, "small")
    assert summary["audit"]["ok"] is True and summary["stuck_instances"] == []
    assert set(summary["instances_by_status"]) == {"completed"}

    third = subprocess.run(_cli(url, files), env=_env(files), capture_output=True, text=True, timeout=120)
    assert third.returncode == 2 and third.stdout == ""
    assert third.stderr.startswith("error: the database holds a finished demo (seed 3, size small")


def test_the_mail_sink_runs_in_development_mode_only(tmp_path: Path) -> None:
    from workflows.demo.delivery import MailRoom

    production = App(Settings(database_url=f"sqlite:///{tmp_path}/p.db", files_dir=tmp_path / "p", mode="production",
                              secret_key="a-real-secret-for-the-test", audit_key="a-real-audit-key-for-the-test"))
    development = App(Settings(database_url=f"sqlite:///{tmp_path}/d.db", files_dir=tmp_path / "d"))
    try:
        assert MailRoom.for_app(production) is None
        room = MailRoom.for_app(development)
        assert room is not None
        try:
            assert room.sink.smtp.host == "127.0.0.1" and room.folder == str((tmp_path / "d" / "mail").resolve())
        finally:
            room.stop()
    finally:
        production.close()
        development.close()


def test_a_demo_stopped_on_a_day_leaves_work_in_the_inboxes_and_continues_to_the_same_end(tmp_path: Path) -> None:
    from datetime import date

    app = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    try:
        stopped = run_demo(app, seed=7, size="small", progress=False, until=date(2027, 5, 3))
        assert stopped["finished"] is False and stopped["simulated_until"].startswith("2027-05-03T")
        with app.uow() as uow:
            waiting = set(uow.session.scalars(select(HumanTask.role).where(HumanTask.status == "open")))
            created = uow.session.scalar(select(func.count()).select_from(PaymentLine))
        assert {"officer", "applicant"} <= waiting and created > 0
        assert stuck_instances_count(app) == 0
        with app.uow() as uow:  # the front door: published host offers, and a draft of the README's applicant
            from workflows.db.models import Application, User
            from workflows.demo.signins import demo_signins

            applicant = next(s for s in demo_signins(app) if s.role == "applicant")
            org = uow.session.scalars(select(User.organisation_id).where(User.username == applicant.username)).one()
            statuses = list(uow.session.scalars(select(Application.status).where(Application.organisation_id == org)))
            assert "draft" in statuses
            assert uow.session.scalar(select(func.count()).where(Application.role == "host",
                                                                 Application.status == "published")) > 0
            from workflows.db.models import Organisation  # two organisations registered themselves
            registered = dict(uow.session.execute(select(User.username, Organisation.registration_status).join(
                Organisation, Organisation.id == User.organisation_id).where(
                User.username.in_(("aurora", "borealis")))).all())
            assert registered == {"aurora": "approved", "borealis": "verified"}
        _assert_finished(app, run_demo(app, seed=7, size="small", progress=False), 7, "small")
    finally:
        app.close()


def test_a_stop_day_outside_the_programme_is_refused(tmp_path: Path) -> None:
    from datetime import date

    app = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    try:
        with pytest.raises(DemoError, match="^until: 2030-01-01 is outside"):
            run_demo(app, size="small", progress=False, until=date(2030, 1, 1))
    finally:
        app.close()


def stuck_instances_count(app: App) -> int:
    with app.uow() as uow:
        return len(stuck_instances(uow)["stuck"])
