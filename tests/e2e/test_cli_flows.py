"""`cxp flows serve --check` shows the schedules `serve` would serve, built as Prefect deployments from
the settings; `cxp flows run ... --no-prefect` runs a job now; bad names and options get one-line
errors. (Flow runs through Prefect itself: tests/flows.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.payment_batch import seed_approved_claims
from workflows.app import App
from workflows.services.setup import init_database
from workflows.settings import Settings

pytestmark = pytest.mark.slow


def cxp(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CXP_DATABASE_URL": f"sqlite:///{folder}/cxp.db",
                   "CXP_FILES_DIR": str(folder / "files"), "PREFECT_HOME": str(folder / "prefect"),
                   "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **env}
    environment.pop("CXP_CRASH_AT", None)
    return subprocess.run([sys.executable, "-m", "workflows.cli.app", "flows", *args], cwd=folder,
                          env=environment, capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    return done.stderr


def test_serve_check_lists_the_three_schedules_from_the_settings(tmp_path: Path) -> None:
    done = cxp(tmp_path, "serve", "--check", "--json", CXP_PAYMENT_BATCH_CRON="0 6 * * 1",
               CXP_TIMEZONE="Europe/Brussels", CXP_OUTBOX_EVERY_MINUTES="3")

    assert done.returncode == 0, done.stderr
    plan = {row["flow"]: row for row in json.loads(done.stdout)["deployments"]}
    assert plan["payment-batch"]["cron"] == "0 6 * * 1" and plan["payment-batch"]["timezone"] == "Europe/Brussels"
    assert plan["payment-batch"]["entrypoint"].endswith("definitions.py:payment_batch_flow")
    assert plan["timers"]["every_seconds"] == 300 and plan["outbox"]["every_seconds"] == 180


def test_a_schedule_prefect_cannot_read_is_named(tmp_path: Path) -> None:
    assert "Invalid cron string" in one_line_error(cxp(tmp_path, "serve", "--check", CXP_PAYMENT_BATCH_CRON="every monday"))


def test_run_without_prefect_makes_the_batch_and_names_its_files(tmp_path: Path) -> None:
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    init_database(app)
    seed_approved_claims(app, 3, partnership_code="CXP-NORTH")

    done = cxp(tmp_path, "run", "payment-batch", "--no-prefect", "--json")

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["orchestrated_by_prefect"] is False and document["batches"][0]["n_tx"] == 3
    assert [Path(p).name for p in document["files"]] == [Path(p).name for p in document["batches"][0]["files"]]
    readable = cxp(tmp_path, "run", "timers", "--no-prefect")
    assert readable.returncode == 0 and readable.stdout == "0 timer(s) fired, 0 task(s) reminded, 0 escalated\n"
    assert "no partnership 'NOPE'" in one_line_error(cxp(tmp_path, "run", "payment-batch", "--no-prefect",
                                                         "--partnership", "NOPE"))


def test_unknown_flows_and_misplaced_options_are_named(tmp_path: Path) -> None:
    assert "'kpi' is not a flow here (flows: payment-batch, kpi-report, timers, outbox)" in one_line_error(
        cxp(tmp_path, "run", "kpi", "--no-prefect"))
    assert "--partnership: only the payment-batch and kpi-report flows" in one_line_error(
        cxp(tmp_path, "run", "outbox", "--partnership", "CXP-NORTH", "--no-prefect"))
