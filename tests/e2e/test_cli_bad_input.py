"""The regression net of the whole command line: every `cxp` command given wrong input — bad dates,
ids, durations, JSON, files, database URLs, settings — exits non-zero with exactly one `error:` line on
stderr that names the option, argument or field, no traceback, and nothing written to the database."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

OFFICER, VISITOR, FINANCE = "officer1.north", "visitor", "finance.north"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A database file with the tiny programme and one submitted visitor application; a few bad files."""
    from tests.workflows.builders import build_programme
    from workflows.app import App
    from workflows.services.setup import init_database
    from workflows.settings import Settings

    folder = tmp_path_factory.mktemp("cli-bad-input")
    url = f"sqlite:///{folder}/cxp.db"
    app = App(Settings(database_url=url, files_dir=folder / "files"))
    try:
        init_database(app)
        programme = build_programme(app).submit_visitor_application()
        task = programme.open_task("assess_application").id
    finally:
        app.close()
    (folder / "latin1.json").write_bytes('{"partnerships": [{"name": "Liège"}]}'.encode("latin-1"))
    (folder / "broken.json").write_text('{"partnerships": [', encoding="utf-8")
    (folder / "list.json").write_text("[1, 2]", encoding="utf-8")
    (folder / "wrong.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "broken.xml").write_text("<Document", encoding="utf-8")
    return {"folder": folder, "url": url, "task": str(task), "instance": str(programme.instance_id),
            "exchange": programme.exchange_ref}


# (arguments, what the one line must contain, extra environment); TASK, INSTANCE, MISSING are filled in.
CASES: list[tuple[tuple[str, ...], str, dict[str, str]]] = [
    # the database and the settings
    (("tasks", "--db", "sqlite//x"), "--db: 'sqlite//x' is not a database URL (examples: ", {}),
    (("clock", "show", "--db", "foo://x/y"), "--db: 'foo://x/y' names the database driver 'foo'", {}),
    (("tasks", "--db", "postgresql+psycopg://postgres@127.0.0.1:9/cxp"), "--db: no database server answers at", {}),
    (("audit", "verify", "--db", "MISSING"), "--db: MISSING does not exist; run cxp init --db MISSING first", {}),
    (("instance", "show", "1"), "CXP_DATABASE_URL: 'sqlite//x' is not a database URL", {"CXP_DATABASE_URL": "sqlite//x"}),
    (("tasks",), "CXP_MODE: 'prod' is not a mode", {"CXP_MODE": "prod"}),
    (("tasks",), "CXP_SMTP_PORT: ", {"CXP_SMTP_PORT": "twenty-five"}),
    (("tasks",), "CXP_SECRET_KEY must be set in production mode", {"CXP_MODE": "production"}),
    (("init", "--db", "sqlite//x"), "--db: 'sqlite//x' is not a database URL", {}),
    (("demo", "--db", "mysql://u@h/d"), "--db: 'mysql://u@h/d' names the database driver 'mysql'", {}),
    (("demo", "--seed", "seven"), "'--seed'", {}),
    # the command line itself
    (("nope",), "No such command 'nope'", {}),
    (("tasks", "--bogus"), "No such option: --bogus", {}),
    (("tasks", "--limit", "0"), "'--limit'", {}),
    (("tasks", "--user", "nobody"), "user: no active user 'nobody'", {}),
    # tasks
    (("task", "claim", "abc", "--user", OFFICER), "'task_id'", {}),
    (("task", "claim", "1"), "Missing option '--user'", {}),
    (("task", "claim", "999", "--user", OFFICER), "task 999 does not exist", {}),
    (("task", "unclaim", "999", "--user", OFFICER), "task 999 does not exist", {}),
    (("task", "complete", "999", "--user", OFFICER), "task 999 does not exist", {}),
    (("task", "complete", "TASK", "--user", "nobody"), "user: no active user 'nobody'", {}),
    (("task", "complete", "TASK", "--user", OFFICER, "--data", "{bad"), "--data: not valid JSON", {}),
    (("task", "complete", "TASK", "--user", OFFICER, "--data", "[1]"), "--data: expected a JSON object", {}),
    (("task", "complete", "TASK", "--user", OFFICER, "--data", "@nothing.json"), "--data: file nothing.json does not exist", {}),
    (("task", "complete", "TASK", "--user", OFFICER, "--data", "@latin1.json"),
     "--data: latin1.json is not UTF-8 text (byte 0xe8 at offset 30)", {}),
    (("task", "complete", "TASK", "--user", OFFICER, "--data", '{"decision": "maybe"}'), "decision: ", {}),
    (("task", "complete", "TASK", "--user", OFFICER, "--data", '{"decision": "reject"}'), "comment: is required", {}),
    # instances
    (("instance", "show", "abc"), "INSTANCE: 'abc' is neither an instance id", {}),
    (("instance", "show", "999"), "instance 999 does not exist", {}),
    (("instance", "show", "EX-999999"), "exchange EX-999999 does not exist", {}),
    (("instance", "retry", "INSTANCE", "--user", "nobody"), "user: no active user 'nobody'", {}),
    (("instance", "retry", "INSTANCE", "--user", OFFICER), "has no open incident", {}),
    # the clock
    (("clock", "advance", "soon"), "duration: 'soon' is not a duration", {}),
    (("clock", "advance", "0d"), "duration: must be positive", {}),
    (("clock", "advance", "3d"), "CXP_MODE: the clock is advanced in development mode only",
     {"CXP_MODE": "production", "CXP_SECRET_KEY": "s3cret", "CXP_AUDIT_KEY": "an-audit-key-of-sixteen+"}),
    # import
    (("import", "nothing.json"), "FILE: nothing.json does not exist", {}),
    (("import", "latin1.json"), "FILE: latin1.json is not UTF-8 text (byte 0xe8 at offset 30)", {}),
    (("import", "broken.json"), "broken.json: Invalid JSON", {}),
    (("import", "list.json"), "list.json: ", {}),
    (("import", "wrong.csv"), "FILE: a CSV file is named after what it holds", {}),
    # rules
    (("rules", "working-days", "--country", "BE", "--arrive", "2027-02-30", "--depart", "2027-03-05"), "--arrive", {}),
    (("rules", "working-days", "--country", "BE", "--arrive", "2027-03-05", "--depart", "2027-03-01"), "depart", {}),
    (("rules", "working-days", "--country", "Belgium", "--arrive", "2027-03-01", "--depart", "2027-03-05"),
     "--country", {}),
    (("rules", "grant", "--host-country", "AT", "--working-days", "-1", "--distance-km", "900"), "--working-days", {}),
    (("rules", "grant", "--host-country", "AT", "--working-days", "5", "--distance-km", "far"), "--distance-km", {}),
    # flows
    (("flows", "run", "kpi", "--no-prefect"), "NAME: 'kpi' is not a flow here", {}),
    (("flows", "run", "outbox", "--partnership", "CXP-NORTH", "--no-prefect"), "--partnership: only the payment-batch", {}),
    (("flows", "run", "timers", "--db", "MISSING"), "--db: MISSING does not exist", {}),
    (("flows", "serve", "--db", "MISSING"), "--db: MISSING does not exist", {}),
    (("flows", "serve", "--check"), "schedule: ", {"CXP_PAYMENT_BATCH_CRON": "every monday"}),
    # payments and the audit trail
    (("payments", "show", "NOPE"), "payment batch NOPE does not exist", {}),
    (("payments", "batches", "--status", "weird"), "--status: 'weird' is not a batch status", {}),
    (("payments", "release", "NOPE", "--user", FINANCE), "payment batch NOPE does not exist", {}),
    (("tasks", "--sort", "soonest"), "sort: 'soonest' is not a sort order", {}),
    (("tasks", "--status", "closed"), "status: 'closed' is not an inbox status", {}),
    (("payments", "import-status", "nothing.xml"), "FILE: nothing.xml does not exist", {}),
    (("payments", "import-status", "broken.xml"), "broken.xml: ", {}),
    (("audit", "verify", "--db", "sqlite//x"), "--db: 'sqlite//x' is not a database URL", {}),
]


def _import_status_takes_a_user() -> bool:
    import inspect

    from workflows.cli import payments

    return "user" in inspect.signature(payments.import_status).parameters


def counts(folder: Path) -> tuple[int, ...]:
    with sqlite3.connect(folder / "cxp.db") as db:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("audit_events", "human_tasks", "process_instances", "clock_state"))


@pytest.mark.parametrize(("args", "expected", "env"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_wrong_input_is_one_error_line_naming_the_field_and_writes_nothing(
        setup: dict[str, Any], args: tuple[str, ...], expected: str, env: dict[str, str]) -> None:
    folder = setup["folder"]
    missing = f"sqlite:///{folder}/var/missing.db"
    fill = {"TASK": setup["task"], "INSTANCE": setup["instance"], "MISSING": missing}
    argv = [fill.get(a, a) for a in args]
    if args[:2] == ("payments", "import-status") and _import_status_takes_a_user():
        argv += ["--user", FINANCE]
    environment = {**os.environ, "CXP_DATABASE_URL": setup["url"], "CXP_FILES_DIR": str(folder / "files"),
                   "PREFECT_HOME": str(folder / "prefect"), "DO_NOT_TRACK": "1", **env}
    environment.pop("CXP_CRASH_AT", None)
    if "CXP_SECRET_KEY" not in env:
        environment.pop("CXP_SECRET_KEY", None)
    before = counts(folder)

    done = subprocess.run([sys.executable, "-m", "workflows.cli.app", *argv], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert expected.replace("MISSING", missing) in done.stderr, done.stderr
    assert counts(folder) == before
    assert not (folder / "var").exists()
