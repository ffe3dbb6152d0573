"""The reporting commands as a person runs them: `--json` documents with the keys SPEC §10 names,
errors as one sentence and a non-zero exit; and on the demo programme the KPI report gives the demo's
own figures (exchanges per final state, total paid)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflows.builders import Programme, programme  # noqa: F401
from tests.workflows.reporting_programme import paid_then_ineligible

ROOT = Path(__file__).resolve().parents[2]


def cxp(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workflows.cli.app", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


@pytest.fixture
def db(programme: Programme, database_url: str) -> str:  # noqa: F811
    paid_then_ineligible(programme)
    return database_url


def test_each_reporting_command_prints_the_keys_of_its_json_document(db: str, tmp_path: Path) -> None:
    kpi = json.loads(cxp("reports", "kpi", "--period", "2027-03", "--partnership", "CXP-NORTH", "--out",
                         str(tmp_path / "kpi"), "--db", db, "--json", cwd=tmp_path).stdout)
    assert kpi["kpis"]["exchanges_by_status"] == {"closed": 1, "ineligible": 1}
    assert (kpi["kpis"]["paid_eur"], kpi["kpis"]["committed_eur"], kpi["kpis"]["remaining_eur"]) == \
        ("1100.00", "0.00", "28900.00")
    assert {Path(f).suffix for f in kpi["files"]} == {".html", ".xlsx", ".csv", ".zip"}
    exported = json.loads(cxp("audit", "export", "EX-000002", "--out", str(tmp_path), "--db", db, "--json",
                              cwd=tmp_path).stdout)
    assert Path(exported["zip"]).is_file() and len(exported["sha256"]) == 64
    sample = json.loads(cxp("audit", "sample", "--size", "1", "--seed", "4", "--db", db, "--json", cwd=tmp_path).stdout)
    assert sample["seed"] == 4 and {"exchange", "reasons"} == set(sample["sample"][0])
    for command in (("publication", "--year", "2027"), ("fstp", "--call", "CXP-TEST-01")):
        doc = json.loads(cxp("reports", *command, "--out", str(tmp_path), "--db", db, "--json", cwd=tmp_path).stdout)
        assert doc["total_eur"] == "1100.00" and all(Path(f).is_file() for f in doc["files"])


@pytest.mark.parametrize("args, message", [
    (("reports", "kpi", "--period", "March"), "--period: 'March' is not a month written YYYY-MM"),
    (("reports", "kpi", "--partnership", "NOPE"), "--partnership: no partnership 'NOPE'"),
    (("reports", "fstp", "--call", "NOPE"), "--call: no call 'NOPE'"),
    (("audit", "export", "EX-404", "--out", "x"), "exchange EX-404 does not exist"),
])
def test_bad_input_is_one_sentence_naming_the_field(db: str, tmp_path: Path, args: tuple, message: str) -> None:
    done = cxp(*args, "--db", db, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()


def test_a_kpi_schedule_that_is_no_cron_string_is_refused_when_serving(tmp_path: Path) -> None:
    done = cxp("flows", "serve", "--check", cwd=tmp_path, env={"CXP_KPI_REPORT_CRON": "61 7 1 * *"})
    assert done.returncode == 2 and "schedule: Invalid cron string" in done.stderr


@pytest.mark.slow
def test_the_kpi_report_of_the_demo_gives_the_demos_own_figures(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/demo.db"
    demo = json.loads(cxp("demo", "--db", db, "--json", cwd=tmp_path).stdout)
    period = demo["simulated_until"][:7]

    kpi = json.loads(cxp("reports", "kpi", "--period", period, "--out", str(tmp_path / "kpi"), "--db", db, "--json",
                         cwd=tmp_path).stdout)

    assert kpi["kpis"]["exchanges_by_status"] == demo["exchanges_by_state"]
    assert kpi["kpis"]["paid_eur"] == demo["total_paid_eur"]
