"""`cxp` commands run in this process (`workflows.cli.app.main`) on the tiny programme, on SQLite and
PostgreSQL: instances by exchange reference, `--json` on claim and release, the conflict exit code of a
lost completion, `instance retry` exiting 1 while its incident stays open, and `clock advance` only in
development mode."""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tasks import registry
from tests.workflows.builders import OFFICER, SECOND_OFFICER, VISITOR, Programme, approve, evidence, programme  # noqa: F401
from workflows.cli.app import main
from workflows.settings import get_settings


class Cxp:
    def __init__(self, capsys: pytest.CaptureFixture[str], url: str) -> None:
        self.capsys, self.url = capsys, url

    def __call__(self, *args: str) -> tuple[int, str, str]:
        """Run `cxp ARGS --db URL`: exit code, stdout, stderr."""
        self.capsys.readouterr()
        try:
            code = main([*args, "--db", self.url])
        except SystemExit as leaving:
            code = int(leaving.code or 0)
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cxp(programme: Programme, capsys: pytest.CaptureFixture[str]) -> Iterator[Cxp]:  # noqa: F811
    get_settings.cache_clear()
    yield Cxp(capsys, programme.app.settings.database_url)
    get_settings.cache_clear()


def test_an_instance_is_shown_by_its_id_or_its_exchange_reference(programme: Programme, cxp: Cxp) -> None:  # noqa: F811
    programme.submit_visitor_application()
    by_id = cxp.json("instance", "show", str(programme.instance_id))
    assert cxp.json("instance", "show", programme.exchange_ref) == by_id
    assert cxp.json("instance", "show", programme.exchange_ref.lower()) == by_id
    assert by_id["subject"] == f"exchange:{programme.exchange_id}"
    assert cxp("instance", "show", "EX-999999") == (2, "", "error: exchange EX-999999 does not exist\n")
    code, _, err = cxp("instance", "show", "twelve")
    assert code == 2 and err.startswith("error: INSTANCE: 'twelve' is neither an instance id")


def test_claim_and_release_print_the_task_as_json(programme: Programme, cxp: Cxp) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    claimed = cxp.json("task", "claim", str(task.id), "--user", OFFICER)
    assert (claimed["id"], claimed["assignee_id"], claimed["status"]) == (task.id, programme.users[OFFICER], "open")
    released = cxp.json("task", "unclaim", str(task.id), "--user", OFFICER)
    assert (released["id"], released["assignee_id"]) == (task.id, None)


def test_completing_a_task_someone_else_completed_is_a_conflict_exit_4_not_a_refusal(
        programme: Programme, cxp: Cxp) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    data = json.dumps(approve())
    assert cxp.json("task", "complete", str(task.id), "--user", OFFICER, "--data", data)["task"] == task.id
    before = programme.snapshot()
    expected = (f"error: conflict: task {task.id} was completed or changed by someone else meanwhile; "
                "nothing was written\n")
    assert cxp("task", "complete", str(task.id), "--user", SECOND_OFFICER, "--data", data) == (4, "", expected)
    assert cxp("task", "claim", str(task.id), "--user", SECOND_OFFICER) == (4, "", expected)
    assert programme.snapshot() == before
    assert programme.events("task_refused") == []


def _failing(ctx: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    raise ConnectionError("the working-day ledger is unreachable")


def test_retry_exits_1_and_prints_the_incident_while_it_stays_open(
        programme: Programme, cxp: Cxp, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    original = registry.services()["compute_working_days"]
    monkeypatch.setitem(registry._SERVICES, "compute_working_days", _failing)
    programme.awaiting_evidence()
    assert programme.complete("submit_evidence", VISITOR, evidence()).instance_status == "incident"

    code, out, err = cxp("instance", "retry", programme.exchange_ref, "--user", OFFICER, "--json")
    assert code == 1, err
    document = json.loads(out)
    assert (document["instance"], document["status"]) == (programme.instance_id, "incident")
    assert "the working-day ledger is unreachable" in document["incident"]["error"]
    code, out, _ = cxp("instance", "retry", str(programme.instance_id), "--user", OFFICER)
    assert code == 1 and "incident still open at svc_compute_working_days" in out

    monkeypatch.setitem(registry._SERVICES, "compute_working_days", original)
    fixed = cxp.json("instance", "retry", str(programme.instance_id), "--user", OFFICER)
    assert fixed["incident"] is None and fixed["status"] == "running"
    code, _, err = cxp("instance", "retry", str(programme.instance_id), "--user", OFFICER)
    assert (code, err) == (2, f"error: instance {programme.instance_id} has no open incident\n")


def test_the_clock_is_advanced_in_development_mode_only(
        programme: Programme, cxp: Cxp, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("CXP_MODE", "production")
    monkeypatch.setenv("CXP_SECRET_KEY", "a-real-secret")
    monkeypatch.setenv("CXP_AUDIT_KEY", "an-audit-key-of-sixteen+")  # (production needs both keys)
    get_settings.cache_clear()
    before = cxp.json("clock", "show")
    code, out, err = cxp("clock", "advance", "3d")
    assert (code, out) == (2, "")
    assert err == ("error: CXP_MODE: the clock is advanced in development mode only, and this is production mode "
                   "(cxp clock show still tells the time)\n")
    assert cxp.json("clock", "show") == before
    assert programme.events("clock_advanced") == []

    monkeypatch.setenv("CXP_MODE", "development")
    get_settings.cache_clear()
    assert cxp.json("clock", "advance", "3d")["timers_fired"] >= 0
    assert len(programme.events("clock_advanced")) == 3
