"""`cxp` as a person runs it, in a subprocess on a SQLite file: init, demo, the inbox, claiming and
completing a task, an instance, the simulated clock and the audit trail — and clear one-line errors
(no traceback) for everything a person can get wrong."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

pytestmark = pytest.mark.slow


class Cli:
    """Runs `python -m workflows.cli.app` with the database and files folder of one test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = f"sqlite:///{folder}/cxp.db"
        self.env = {**os.environ, "CXP_DATABASE_URL": self.url, "CXP_FILES_DIR": str(folder / "files")}

    def run(self, *args: str, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *python, "-m", "workflows.cli.app", *args], cwd=self.folder,
                              env=self.env, capture_output=True, text=True, timeout=120)

    def ok(self, *args: str) -> Any:
        """Run a `--json` command that must succeed; its document."""
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def fails(self, *args: str, code: int | None = None) -> str:
        """Run a command that must fail cleanly; its stderr."""
        done = self.run(*args)
        assert done.returncode != 0, done.stdout
        if code is not None:
            assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
        return done.stderr

    def app(self):  # type: ignore[no-untyped-def]
        from workflows.app import App
        from workflows.settings import Settings

        return App(Settings(database_url=self.url, files_dir=self.folder / "files"))


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def small(cli: Cli) -> Iterator[tuple[Cli, Any]]:
    """An initialised database file with the tiny programme and one submitted visitor application,
    set up through the Python API (`cxp init` itself is tested on its own)."""
    from tests.workflows.builders import build_programme
    from workflows.services.setup import init_database

    app = cli.app()
    try:
        init_database(app)
        yield cli, build_programme(app).submit_visitor_application()
    finally:
        app.close()


# ---- init and the demo --------------------------------------------------------------------------------
def test_init_deploys_the_processes_once(cli: Cli) -> None:
    first = cli.ok("init")
    assert [d["process"] for d in first["processes_deployed"]] == ["call", "exchange", "hosting", "registration"]
    assert first["rule_sets_loaded"]
    again = cli.ok("init")
    assert again["processes_deployed"] == [] and again["rule_sets_loaded"] == []


@pytest.mark.parametrize("command", [("tasks", "--json"), ("audit", "verify")])
def test_commands_on_an_uninitialised_database_say_to_run_init(cli: Cli, command: tuple[str, ...]) -> None:
    import sqlite3

    sqlite3.connect(cli.folder / "cxp.db").close()  # an empty database file: no schema
    message = cli.fails(*command, code=2)
    assert "the database is not initialised" in message and "run `cxp init`" in message


READ_COMMANDS = [("tasks",), ("task", "show", "1"), ("task", "claim", "1", "--user", "u"),
                 ("task", "complete", "1", "--user", "u"), ("instance", "show", "1"),
                 ("instance", "retry", "1", "--user", "u"), ("clock", "show"), ("clock", "advance", "1d"),
                 ("audit", "verify"), ("payments", "batches"), ("import", "x.json"),
                 ("flows", "run", "timers"), ("flows", "run", "timers", "--no-prefect")]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_command_on_a_sqlite_file_that_does_not_exist_refuses_and_creates_nothing(
        cli: Cli, command: tuple[str, ...]) -> None:
    url = f"sqlite:///{cli.folder}/var/x.db"
    if command == ("task", "show", "1"):
        command = ("tasks", "--user", "u")  # (there is no `task show`: the inbox with a user instead)
    done = cli.run(*command, "--db", url)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: --db: {url} does not exist; run cxp init --db {url} first\n"
    assert not (cli.folder / "var").exists()
    env_only = cli.run(*command, python=())
    assert "CXP_DATABASE_URL: " in env_only.stderr and env_only.returncode == 2
    assert sorted(p.name for p in cli.folder.iterdir()) == []


def test_init_creates_the_database_and_its_folder(cli: Cli) -> None:
    url = f"sqlite:///{cli.folder}/var/new.db"
    assert cli.ok("init", "--db", url)["processes_deployed"]
    assert (cli.folder / "var" / "new.db").is_file()
    assert cli.ok("clock", "show", "--db", url)["simulated"] is False


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, dict[str, Any]]:
    cli = Cli(tmp_path_factory.mktemp("cli-demo"))
    return cli, cli.ok("demo", "--db", cli.url, "--seed", "7")


def test_demo_prints_final_states_total_paid_files_and_audit(demo: tuple[Cli, dict[str, Any]]) -> None:
    cli, document = demo
    states = document["exchanges_by_state"]
    assert set(states) <= {"ineligible", "rejected", "withdrawn", "not_matched", "cancelled",
                           "closed_without_grant", "closed"}
    assert sum(states.values()) == document["exchanges"] == 40  # the demo plan: 30 pool and 10 special visitors
    assert isinstance(document["total_paid_eur"], str)
    assert document["total_paid_eur"].count(".") == 1 and len(document["total_paid_eur"].split(".")[1]) == 2
    assert float(document["total_paid_eur"]) > 0
    files = [Path(f) for f in document["files_written"]]
    assert files and all(f.is_file() for f in files)
    assert all(cli.folder / "files" in f.parents for f in files)
    assert document["audit"]["ok"] is True and document["audit"]["events"] > 1000


def test_audit_verify_names_the_first_tampered_event(demo: tuple[Cli, dict[str, Any]]) -> None:
    cli, document = demo
    checked = cli.ok("audit", "verify")  # the chains, then the anchors of the demo's payment batches
    assert {"ok": checked["ok"], "events": checked["events"]} == document["audit"]
    assert checked["problem"] is None and checked["anchor"] == checked["anchors_checked"] + 1 > 1

    from workflows.db.process_models import AuditEvent

    app = cli.app()
    try:
        with app.db.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        with app.uow() as uow:
            uow.session.execute(update(AuditEvent).where(AuditEvent.id == 500).values(actor="mallory"))
            uow.commit()
    finally:
        app.close()
    done = cli.run("audit", "verify", "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert (result["ok"], result["first_bad_event"]) == (False, 500)
    assert result["problem"] == "its content was changed after it was written"


# ---- the inbox and one task ---------------------------------------------------------------------------
def test_tasks_lists_an_inbox_by_user_and_by_role_without_importing_prefect_pandas_or_the_web(
        small: tuple[Cli, Any]) -> None:
    cli, programme = small
    done = cli.run("tasks", "--user", "officer1.north", "--json", python=("-X", "importtime"))
    assert done.returncode == 0, done.stderr
    mine = json.loads(done.stdout)["tasks"]
    assert [(t["task"], t["lane"], t["subject"], t["status"]) for t in mine] == [
        ("assess_application", "Officer", programme.exchange_ref, "open")]
    assert mine[0]["partnership_id"] == programme.north_id
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"sqlalchemy", "typer"} <= imported  # the measurement works
    assert imported & {"prefect", "pandas", "fastapi", "starlette", "uvicorn"} == set()

    assert cli.ok("tasks", "--user", "officer.south")["tasks"] == []
    assert [t["id"] for t in cli.ok("tasks", "--role", "officer")["tasks"]] == [mine[0]["id"]]
    assert "no active user 'nobody'" in cli.fails("tasks", "--user", "nobody", "--json", code=2)


def test_a_task_is_claimed_and_completed_with_data_from_a_file_and_the_instance_shows_it(
        small: tuple[Cli, Any]) -> None:
    cli, programme = small
    task = programme.open_task("assess_application")
    claimed = cli.run("task", "claim", str(task.id), "--user", "officer1.north")
    assert claimed.returncode == 0, claimed.stderr
    assert programme.open_task("assess_application").assignee_id == programme.users["officer1.north"]

    form = cli.folder / "assessment.json"
    form.write_text(json.dumps({"decision": "approve", "comment": "Well motivated."}), encoding="utf-8")
    result = cli.ok("task", "complete", str(task.id), "--user", "officer1.north", "--data", f"@{form}")
    assert result == {"task": task.id, "instance": programme.instance_id, "instance_status": "running",
                      "outcome": None}
    assert programme.exchange().status == "awaiting_match"

    view = cli.ok("instance", "show", str(programme.instance_id))
    assert (view["process"], view["version"], view["status"]) == ("exchange", 1, "running")
    assert view["subject"] == f"exchange:{programme.exchange_id}"
    assert view["open_tasks"] == [] and view["waiting_for"] == ["match_proposed"]
    actions = [h["action"] for h in view["history"]]
    assert actions[0] == "process_started" and {"task_claimed", "task_completed"} <= set(actions)
    assert view["data"]["exchange_ref"] == programme.exchange_ref and view["data"]["decision"] == "approve"
    assert "instance 999 does not exist" in cli.fails("instance", "show", "999", code=2)


def test_task_complete_refuses_bad_json_a_form_error_and_a_refused_user(small: tuple[Cli, Any]) -> None:
    cli, programme = small
    task = str(programme.open_task("assess_application").id)
    before = programme.snapshot()

    assert "--data: not valid JSON" in cli.fails("task", "complete", task, "--user", "officer1.north",
                                                 "--data", '{"decision": approve}', code=2)
    form_error = cli.fails("task", "complete", task, "--user", "officer1.north", "--data", '{"decision": "reject"}')
    assert "comment: is required when the decision is not approve" in form_error
    assert programme.snapshot() == before

    hidden = cli.fails("task", "complete", task, "--user", "officer.south", "--data", '{"decision": "approve"}',
                       code=2)  # another partnership's task is not there for them
    assert hidden == f"error: task {task} does not exist\n" and programme.snapshot() == before
    refused = cli.fails("task", "complete", task, "--user", "finance.north", "--data", '{"decision": "approve"}',
                        code=3)
    assert refused.startswith("error: refused: ") and "belongs to the Officer lane" in refused
    assert programme.events("task_refused")[-1].actor == "finance.north"
    assert programme.open_task("assess_application").status == "open"


def test_clock_shows_and_advances_simulated_time_and_fires_timers(small: tuple[Cli, Any]) -> None:
    from tests.workflows.builders import START

    cli, programme = small
    programme.complete("assess_application", "officer1.north",
                       {"decision": "request_info", "comment": "Which activities?"})
    shown = cli.ok("clock", "show")
    assert shown["simulated"] is True and datetime.fromisoformat(shown["now"]) == START
    moved = cli.ok("clock", "advance", "15d")  # past the 14-day deadline of the request for information
    assert datetime.fromisoformat(moved["now"]) == START + timedelta(days=15)
    assert moved["timers_fired"] == 1
    assert programme.exchange().status == "withdrawn"
    assert "duration: 'soon' is not a duration" in cli.fails("clock", "advance", "soon", code=2)
