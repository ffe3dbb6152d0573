"""The scheduled jobs on many machines (SPEC §15), for real: a Prefect server subprocess keeping its
state in a PostgreSQL database of its own beside ours, `cxp flows deploy --pool` registering every
deployment of a process work pool, and two `prefect worker start --pool` processes taking a payment
batch and a timers sweep to COMPLETED against our PostgreSQL database. Skipped, with the reason, where
PostgreSQL does not answer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from benchmarks.payment_batch import seed_approved_claims
from tests.conftest import fresh_postgres_url
from tests.workflows.builders import BRUSSELS, DEPARTURE, build_programme
from tests.workflows.test_outbox_delivery import free_port
from workflows.app import App
from workflows.db.process_models import PaymentLine
from workflows.services.setup import init_database
from workflows.settings import Settings

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


@dataclass
class Cluster:
    api: str
    env: dict[str, str]
    app: App


def _wait_healthy(api: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the Prefect server stopped: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)  # polling a subprocess's readiness, not timing the product
    raise AssertionError(f"the Prefect server did not answer in 120 s: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ours = fresh_postgres_url(request)  # skips when PostgreSQL does not answer
    prefect_db = fresh_postgres_url(request)  # the Prefect server's own database, beside ours
    home = tmp_path_factory.mktemp("prefect-home")
    files = tmp_path_factory.mktemp("files")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_API_URL": api, "PREFECT_LOGGING_LEVEL": "INFO", "CXP_DATABASE_URL": ours,
           "CXP_FILES_DIR": str(files), "CXP_SMTP_PORT": str(free_port())}
    server_env = {**env, "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.replace("+psycopg", "+asyncpg"),
                  "PREFECT_UI_ENABLED": "false"}
    server_env.pop("PREFECT_API_URL")
    log = home / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=server_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(api, server, log)
        app = App(Settings(database_url=ours, files_dir=files))
        init_database(app)
        yield Cluster(api, env, app)
        app.close()
    finally:
        _stop(server)


def _flow_run_state(api: str, flow_run_id: str) -> str:
    answer = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=10).json()
    return str(answer["state"]["type"])


def test_two_workers_of_a_process_pool_run_a_payment_batch_and_a_timers_sweep_to_completed(
        cluster: Cluster, tmp_path: Path) -> None:
    app, env = cluster.app, cluster.env
    programme = build_programme(app).submit_visitor_application().assessed().matched().committed()
    seed_approved_claims(app, 25, partnership_code="CXP-POOL", ref_offset=5_000)
    with app.uow() as uow:  # time passes without a sweep: the end of the visit is due
        uow.clock.set(datetime(DEPARTURE.year, DEPARTURE.month, DEPARTURE.day, 20, 0, tzinfo=BRUSSELS))
        uow.commit()

    deployed = subprocess.run([str(BIN / "cxp"), "flows", "deploy", "--pool", "cxp-pool", "--json"], env=env,
                              capture_output=True, text=True, timeout=300)
    assert deployed.returncode == 0, deployed.stderr
    document = json.loads(deployed.stdout)
    assert document["pool_created"] is True
    rows = {row["deployment"]: row for row in document["deployments"]}
    assert set(rows) == {"payment-batch/payment-batch", "kpi-report/kpi-report", "timers/timers", "outbox/outbox"}
    assert rows["payment-batch/payment-batch"]["concurrency_limit"] == 1
    assert rows["outbox/outbox"]["concurrency_limit"] == 1
    assert rows["timers/timers"]["entrypoint"] == "workflows.flows.definitions.timers_flow"
    pool = httpx.get(f"{cluster.api}/work_pools/cxp-pool", timeout=10).json()
    assert pool["type"] == "process"

    workers = []
    for n in range(2):
        log = (tmp_path / f"worker{n}.log").open("wb")
        workers.append(subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", "cxp-pool", "--name", f"worker-{n}",
             "--type", "process"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT))
    try:
        runs = {}
        for name in ("payment-batch/payment-batch", "timers/timers"):
            started = httpx.post(f"{cluster.api}/deployments/{rows[name]['id']}/create_flow_run", json={},
                                 timeout=10)
            assert started.status_code == 201, started.text
            runs[name] = started.json()["id"]
        deadline = time.monotonic() + 300
        states = {name: "" for name in runs}
        while time.monotonic() < deadline and not all(s in ("COMPLETED", "FAILED", "CRASHED") for s in states.values()):
            states = {name: _flow_run_state(cluster.api, run) for name, run in runs.items()}
            time.sleep(1)  # waiting for subprocesses to report, not timing the product
        assert states == {name: "COMPLETED" for name in runs}, [
            p.read_text()[-3000:] for p in tmp_path.glob("worker*.log")]
    finally:
        for worker in workers:
            _stop(worker)

    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(PaymentLine.id))) == 25
    # the timers sweep fired the end of the visit (in a worker's fresh process: no retry hid a failure)
    assert programme.open_specs() == ["submit_evidence"]
    assert programme.instance().lease_owner is None
    logs = "".join(p.read_text() for p in tmp_path.glob("worker*.log"))
    assert "Task run failed" not in logs, logs[-3000:]
