"""`cxp doctor`: a healthy programme has no stuck instance; an instance that waits for nothing (made
by editing its rows, as a lost task or a failed write would leave it) is listed with its reason and
the command exits 1."""
from __future__ import annotations

import json

from sqlalchemy import func, select, update
from typer.testing import CliRunner

from tests.workflows.builders import Programme, programme  # noqa: F401 - the fixture
from workflows.cli.app import app as cli
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.services.doctor import diagnose


def _doctor(prog: Programme, *args: str) -> tuple[int, str]:
    url = prog.app.db.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["doctor", "--db", url, *args])
    return result.exit_code, result.stdout


def test_a_healthy_programme_has_no_stuck_instance(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed()
    with programme.app.uow() as uow:
        running = uow.session.scalar(select(func.count(ProcessInstance.id)).where(
            ProcessInstance.status == "running"))
    assert running == 1  # the exchange, waiting for its match (a message and a timer)
    code, out = _doctor(programme)
    assert code == 0
    assert out.strip() == f"no stuck instance among {running} running"
    code, out = _doctor(programme, "--json")
    assert code == 0 and json.loads(out) == {"running": running, "stuck": []}


def test_an_instance_that_waits_for_nothing_is_listed_with_its_reason(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    with programme.app.uow() as uow:  # the open task is lost, as a failed write would leave it
        uow.session.execute(update(HumanTask).where(HumanTask.id == task.id).values(status="cancelled"))
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == task.instance_id)
                            .values(next_timer_at=None, waiting_messages=[]))
        uow.commit()
    found = diagnose(programme.app)
    assert [row["instance"] for row in found["stuck"]] == [task.instance_id]
    row = found["stuck"][0]
    assert row["process"] == "exchange"
    assert row["subject"] == programme.exchange().ref
    assert "no open task, no timer" in row["reason"] and "last " in row["reason"]
    assert row["since"][:4] == "2027"
    code, out = _doctor(programme, "--json")
    assert code == 1
    assert json.loads(out) == found
    code, out = _doctor(programme)
    assert code == 1
    assert f"stuck: instance {task.instance_id} (exchange, {row['subject']})" in out
    assert out.strip().endswith(f"1 stuck instance(s) among {found['running']} running")


def test_an_instance_with_an_incident_is_not_stuck(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    with programme.app.uow() as uow:
        uow.session.execute(update(HumanTask).where(HumanTask.id == task.id).values(status="cancelled"))
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == task.instance_id).values(
            next_timer_at=None, waiting_messages=[], status="incident",
            incident={"task": "svc_check_eligibility", "error": "database was away"}))
        uow.commit()
    assert diagnose(programme.app)["stuck"] == []
