"""`cxp processes ...` as an operator runs it: list the versions, deploy a changed exchange, dry-run and
migrate the running exchange, roll the move back; refusals and bad input in one line, with their codes."""
from __future__ import annotations

import pytest

from tests.bpmn.changes import changed_process, without_form
from tests.e2e.test_cli_foundation import Cli, cli, small  # noqa: F401

pytestmark = pytest.mark.slow


def test_an_administrator_deploys_and_migrates_from_the_command_line(small) -> None:  # noqa: F811
    cli, prog = small
    (cli.folder / "exchange-v2.bpmn").write_bytes(changed_process("exchange"))
    (cli.folder / "broken.bpmn").write_bytes(without_form())

    listed = cli.ok("processes", "list")["versions"]
    assert [(v["process"], v["version"], v["current"]) for v in listed] == [
        ("call", 1, True), ("exchange", 1, True), ("hosting", 1, True), ("registration", 1, True)]
    refused = cli.fails("processes", "deploy", "exchange-v2.bpmn", "--user", "officer1.north", "--reason", "x", code=3)
    assert "only administrators deploy process versions" in refused
    assert "user task 'validate_all_evidence' has no form" in cli.fails(
        "processes", "deploy", "broken.bpmn", "--user", "admin", "--reason", "x", code=2)
    assert "FILE: nowhere.bpmn does not exist" in cli.fails(
        "processes", "deploy", "nowhere.bpmn", "--user", "admin", "--reason", "x", code=2)

    deployed = cli.ok("processes", "deploy", "exchange-v2.bpmn", "--user", "admin", "--reason", "No host consent")
    assert deployed["created"] and deployed["version"]["version"] == 2 and deployed["lint"].endswith("clean")
    shown = cli.run("processes", "show", "exchange:2")
    assert shown.returncode == 0 and "removed  host_consent_extension" in shown.stdout

    dry = cli.ok("processes", "migrate", "exchange:2", "--dry-run", "--user", "admin")
    assert (dry["total"], dry["can_move"], dry["results"][0]["waiting_on"]) == (1, 1, ["assess_application"])
    assert "--reason" in cli.fails("processes", "migrate", "exchange:2", "--user", "admin", code=2)
    moved = cli.ok("processes", "migrate", "exchange:2", "--instance", str(prog.instance_id), "--user", "admin",
                   "--reason", "All exchanges on version 2")
    assert moved["results"][0]["outcome"] == "moved"
    text = cli.run("instance", "show", str(prog.instance_id))
    assert text.returncode == 0 and "moved from v1 to v2 by admin: All exchanges on version 2" in text.stdout
    back = cli.run("processes", "migrate", "exchange:2", "--rollback", "--user", "admin", "--reason", "Undo")
    assert back.returncode == 0 and "1 of 1 rolled back" in back.stdout
    again = cli.run("processes", "migrate", "exchange:2", "--rollback", "--instance", str(prog.instance_id),
                    "--user", "admin", "--reason", "Undo twice")
    assert again.returncode == 1 and "was not migrated to version 2" in again.stdout
    assert "VERSION: 'exchange:9' is no deployed version" in cli.fails(
        "processes", "migrate", "exchange:9", "--dry-run", "--user", "admin", code=2)
    assert "a rollback has no dry run" in cli.fails(
        "processes", "migrate", "exchange:2", "--dry-run", "--rollback", "--user", "admin", code=2)
