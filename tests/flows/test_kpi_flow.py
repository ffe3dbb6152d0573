"""The kpi-report flow as Prefect runs it (the session's test server): one task run writes every
scope's files and queues their emails; its monthly schedule is served with the others."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.flows.test_flows_prefect import app, task_run_names  # noqa: F401
from tests.workflows.builders import build_programme
from tests.workflows.reporting_programme import paid_then_ineligible
from workflows.app import App
from workflows.settings import Settings

pytestmark = pytest.mark.slow


def test_the_kpi_report_flow_writes_and_mails_every_scope_in_one_task_run(app: App) -> None:  # noqa: F811
    from workflows.flows.definitions import kpi_report_flow

    programme = build_programme(app)
    paid_then_ineligible(programme)

    state = kpi_report_flow(period="2027-03", return_state=True)

    result = state.result()
    assert result["kpis"]["exchanges_by_status"] == {"closed": 1, "ineligible": 1}
    assert result["kpis"]["paid_eur"] == "1100.00"
    assert sorted(result["scopes"]) == ["CXP-NORTH", "CXP-SOUTH", "programme"]
    assert all(Path(p).is_file() for p in result["files"])
    assert task_run_names(state.state_details.flow_run_id) == ["kpi-report-2027-03"]
    assert sorted(m.context["scope"] for m in programme.emails("kpi_report")) == ["CXP-NORTH", "CXP-SOUTH", "programme"]


def test_the_monthly_schedule_is_served_with_the_others(prefect_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflows.flows.definitions import deployments

    built = {d.name: d for d in deployments(Settings())}
    cron = built["kpi-report"].schedules[0].schedule
    assert (cron.cron, cron.timezone) == ("0 7 1 * *", "Europe/Brussels")

    monkeypatch.setenv("CXP_KPI_REPORT_CRON", "30 6 2 * *")
    assert {d.name: d for d in deployments(Settings())}["kpi-report"].schedules[0].schedule.cron == "30 6 2 * *"
