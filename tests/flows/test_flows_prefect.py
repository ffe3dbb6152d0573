"""The flows as Prefect runs them (one test server for the session): the payment batch is a handful of
task runs, not one per claim, and exactly once through Prefect too; the timers and outbox flows move
the same state the services move; `cxp flows run` reports to the Prefect API it is pointed at."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks.payment_batch import seed_approved_claims
from tests.workflows.builders import BRUSSELS, DEPARTURE, build_programme
from tests.workflows.test_outbox_delivery import Server, server  # noqa: F401
from workflows.app import App
from workflows.db.process_models import PaymentLine
from workflows.services.setup import init_database
from workflows.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api: str) -> App:
    """A database the flows find through the settings, as a served flow does."""
    url = f"sqlite:///{tmp_path}/cxp.db"
    monkeypatch.setenv("CXP_DATABASE_URL", url)
    monkeypatch.setenv("CXP_FILES_DIR", str(tmp_path / "files"))
    application = App(Settings(database_url=url, files_dir=tmp_path / "files"))
    init_database(application)
    return application


def task_run_names(flow_run_id: object) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return sorted(run.name for run in runs)


def payment_batch_runs() -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return len(client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["payment-batch"]))))


def test_the_payment_batch_flow_pays_thousands_of_claims_in_a_handful_of_task_runs(app: App) -> None:
    from workflows.flows.definitions import payment_batch_flow

    seed_approved_claims(app, 2_000, partnership_code="CXP-NORTH")
    seed_approved_claims(app, 3, partnership_code="CXP-SOUTH", ref_offset=5_000)

    state = payment_batch_flow(return_state=True)

    result = state.result()
    assert [(b["partnership"], b["n_tx"]) for b in result["batches"]] == [("CXP-NORTH", 2_000), ("CXP-SOUTH", 3)]
    assert all(Path(p).is_file() for p in result["files"]) and len(result["files"]) == 4
    names = task_run_names(state.state_details.flow_run_id)
    assert len(names) == 4 and "create-batch-CXP-NORTH" in names  # restore files, partnerships, 2 batches

    again = payment_batch_flow()
    assert again["batches"] == []
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(PaymentLine.id))) == 2_003


def test_the_timers_flow_fires_the_timers_that_are_due(app: App) -> None:
    from workflows.flows.definitions import timers_flow

    programme = build_programme(app).submit_visitor_application().assessed().matched().committed()
    with app.uow() as uow:  # time passes without a sweep: the end of the visit is due
        uow.clock.set(datetime(DEPARTURE.year, DEPARTURE.month, DEPARTURE.day, 20, 0, tzinfo=BRUSSELS))
        uow.commit()

    assert timers_flow() == {"timers_fired": 1, "reminded": 0, "escalated": 0, "sign_in_counts_removed": 0,
                            "budget_reservations_released": 0}
    assert programme.open_specs() == ["submit_evidence"]
    assert timers_flow() == {"timers_fired": 0, "reminded": 0, "escalated": 0, "sign_in_counts_removed": 0,
                            "budget_reservations_released": 0}


def test_the_outbox_flow_delivers_the_batch_email(app: App, server: Server,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from workflows.flows.definitions import outbox_flow, payment_batch_flow

    seed_approved_claims(app, 2, partnership_code="CXP-NORTH")
    payment_batch_flow()
    monkeypatch.setenv("CXP_SMTP_PORT", str(server.start().port))

    result = outbox_flow()

    assert result["sent"] == [1] and result["waiting"] == 0
    assert "ready" in server.recorder.received[0]["Subject"]
    assert outbox_flow()["sent"] == []


def test_cxp_flows_run_reports_to_the_prefect_api_and_names_the_files(app: App, tmp_path: Path,
                                                                       prefect_api: str) -> None:
    seed_approved_claims(app, 5, partnership_code="CXP-NORTH")
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    runs_before = payment_batch_runs()

    done = subprocess.run([sys.executable, "-m", "workflows.cli.app", "flows", "run", "payment-batch", "--json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["flow"] == "payment-batch" and document["orchestrated_by_prefect"] is True
    assert [Path(p).suffix for p in document["files"]] == [".xml", ".csv"]
    assert all(Path(p).is_file() for p in document["files"])
    assert payment_batch_runs() == runs_before + 1


def test_the_schedules_are_built_as_deployments_for_serve(prefect_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflows.flows.definitions import deployments

    monkeypatch.setenv("CXP_PAYMENT_BATCH_CRON", "0 7 * * 2")
    built = {d.name: d for d in deployments(Settings())}

    cron = built["payment-batch"].schedules[0].schedule
    assert (cron.cron, cron.timezone) == ("0 7 * * 2", "Europe/Brussels")
    assert built["timers"].schedules[0].schedule.interval == timedelta(minutes=5)
    assert built["outbox"].schedules[0].schedule.interval == timedelta(minutes=2)
