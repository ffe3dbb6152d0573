"""prefect.yaml describes exactly the deployments `cxp flows deploy --pool` registers: the same names,
flows (by module path), schedules and time zones (the settings' defaults), concurrency limits and pool."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workflows.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_prefect_yaml_matches_the_deployments_of_cxp_flows_deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CXP_PAYMENT_BATCH_CRON", "CXP_KPI_REPORT_CRON", "CXP_TIMERS_EVERY_MINUTES",
                 "CXP_OUTBOX_EVERY_MINUTES", "CXP_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    from workflows.flows.definitions import pool_deployments

    document = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    written = {}
    for entry in document["deployments"]:
        schedule = entry["schedules"][0]
        written[entry["name"]] = (entry["entrypoint"], schedule.get("cron"), schedule.get("interval"),
                                  schedule["timezone"], entry["concurrency_limit"]["limit"],
                                  entry["concurrency_limit"]["collision_strategy"], entry["work_pool"]["name"])
    built = {}
    for deployment in pool_deployments(Settings(files_dir=tmp_path), "clusterxchange"):
        schedule = deployment.schedules[0].schedule
        interval = getattr(schedule, "interval", None)
        built[deployment.name] = (deployment.entrypoint, getattr(schedule, "cron", None),
                                  int(interval.total_seconds()) if interval else None, schedule.timezone,
                                  deployment.concurrency_limit, str(deployment.concurrency_options.collision_strategy.value),
                                  deployment.work_pool_name)
    assert written == built


def test_cxp_flows_deploy_without_a_prefect_server_to_point_at_says_which_setting_is_missing(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run([sys.executable, "-m", "workflows.cli.app", "flows", "deploy", "--pool", "clusterxchange"],
                            env={**env, "CXP_FILES_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=120,
                            cwd=ROOT)
    assert result.returncode != 0
    assert "PREFECT_API_URL" in result.stderr and "Traceback" not in result.stderr
