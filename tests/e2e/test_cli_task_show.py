"""`cxp task show` as an officer runs it: the JSON document with the task, its form's schema and the
context of the decision; a summary a person reads; one line and exit 2 for a task that is not there
or not theirs to see."""
from __future__ import annotations

import pytest

from tests.e2e.test_cli_foundation import Cli, cli, small  # noqa: F401

pytestmark = pytest.mark.slow


def test_an_officer_shows_the_assessment_as_json_and_as_a_summary(small) -> None:  # noqa: F811
    cli, prog = small
    task_id = str(prog.open_task("assess_application").id)

    document = cli.ok("task", "show", task_id, "--user", "officer1.north")
    assert {"id", "task", "name", "lane", "role", "status", "assignee", "due_at", "follow_up_at", "instance_id",
            "subject", "process", "form_schema", "form_defaults", "can_act", "why_not", "context"} <= set(document)
    assert (document["task"], document["subject"], document["can_act"]) == (
        "assess_application", prog.exchange_ref, True)
    assert document["form_schema"]["properties"]["decision"]["title"] == "Decision"
    assert document["context"]["kind"] == "eligibility" and document["context"]["ok"] is True
    assert document["context"]["organisation"]["legal_name"] == "Nova Cluster Brussels"

    done = cli.run("task", "show", task_id, "--user", "officer1.north")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"task {task_id}: Assess application (assess_application) on {prog.exchange_ref}, " \
                       f"exchange instance {prog.instance_id}"
    assert "you may act on it now" in lines
    assert any(line.startswith("  R-ELIG: eligible") for line in lines)
    assert any(line.startswith("  decision (required): Decision - ") for line in lines)


def test_a_task_that_is_not_there_or_of_another_partnership_is_one_line_and_exit_2(small) -> None:  # noqa: F811
    cli, prog = small
    task_id = str(prog.open_task("assess_application").id)
    assert cli.fails("task", "show", "999999", "--user", "officer1.north", code=2) == \
        "error: task 999999 does not exist\n"
    assert cli.fails("task", "show", task_id, "--user", "officer.south", code=2) == \
        f"error: task {task_id} does not exist\n"
    assert "no active user 'nobody'" in cli.fails("task", "show", task_id, "--user", "nobody", code=2)
    assert "--user" in cli.fails("task", "show", task_id, code=2)


def test_a_visitor_sees_what_the_officer_asks_for_in_the_information_step(small) -> None:  # noqa: F811
    cli, prog = small
    prog.complete("assess_application", "officer1.north", {"decision": "request_info", "comment": "Which labs?"})
    document = cli.ok("task", "show", str(prog.open_task("provide_information").id), "--user", "visitor")
    assert document["can_act"] is True and document["context"]["kind"] == "visit"
    assert document["context"]["notes"] == ["The officer asks: Which labs?"]
