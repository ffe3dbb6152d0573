"""`cxp calls ...` as an operator runs it: create a draft from a JSON file (a wrong field named on one
line, exit 2), publish it, change a budget (below what is committed: exit 2; an officer: exit 3,
audited), close a call early (twice: exit 4), list and show; through the same use cases as the web."""
from __future__ import annotations

import json

import pytest

from tests.e2e.test_cli_foundation import Cli, cli, small  # noqa: F401

pytestmark = pytest.mark.slow

CALL = {"code": "CXP-CLI-1", "title": "Command-line call", "lead_partnership": "CXP-NORTH",
        "partnerships": ["CXP-SOUTH"], "opens_on": "2027-02-01", "closes_on": "2027-03-31",
        "matching_deadline": "2027-05-28T18:00:00+02:00", "budget": "12000.00", "rule_set_version": "2026.1",
        "events": [{"kind": "virtual_marketplace", "title": "#1", "starts_on": "2027-02-08", "ends_on": "2027-03-12"},
                   {"kind": "matchmaking", "title": "B2B", "starts_on": "2027-04-01", "ends_on": "2027-04-01",
                    "place": "Graz"}]}


def test_an_operator_creates_publishes_budgets_and_closes_calls_from_the_command_line(small) -> None:  # noqa: F811
    cli, _ = small
    (cli.folder / "call.json").write_text(json.dumps(CALL), encoding="utf-8")
    (cli.folder / "bad.json").write_text(json.dumps({**CALL, "code": "CXP-CLI-2", "budget": "-5",
                                                    "closes_on": "2027-01-20"}), encoding="utf-8")
    (cli.folder / "broken.json").write_text("{", encoding="utf-8")

    bad = cli.fails("calls", "create", "bad.json", "--user", "admin", code=2)
    assert "budget: EUR -5 is not a positive amount" in bad and "closes_on: 2027-01-20 is not after" in bad
    assert "broken.json: not valid JSON" in cli.fails("calls", "create", "broken.json", code=2)
    assert "FILE: nowhere.json does not exist" in cli.fails("calls", "create", "nowhere.json", code=2)
    refused = cli.fails("calls", "create", "call.json", "--user", "officer1.north", code=3)
    assert "only administrators manage calls" in refused

    created = cli.ok("calls", "create", "call.json", "--user", "admin")
    assert created["call"]["status"] == "draft" and len(created["call"]["events"]) == 2
    published = cli.ok("calls", "publish", "CXP-CLI-1", "--user", "admin", "--reason", "checked")
    assert published["call"]["status"] == "published" and published["instance_id"]
    assert "is published already" in cli.fails("calls", "publish", "CXP-CLI-1", "--user", "admin", code=4)

    raised = cli.ok("calls", "budget", "CXP-CLI-1", "--budget", "15000", "--reason", "A sponsor", "--user", "admin")
    assert (raised["budget_before"], raised["budget"], raised["approved"]) == ("12000.00", "15000.00", [])
    assert "budget: 'x' is not an amount in euros" in cli.fails(
        "calls", "budget", "CXP-CLI-1", "--budget", "x", "--reason", "y", code=2)
    assert "call: no call 'CXP-NONE'" in cli.fails("calls", "budget", "CXP-NONE", "--budget", "1", "--reason", "y",
                                                    code=2)
    text = cli.run("calls", "show", "CXP-CLI-1")
    assert text.returncode == 0 and "admin: raised the budget from EUR 12000.00 to EUR 15000.00 (A sponsor)" in text.stdout

    closed = cli.ok("calls", "close", "CXP-TEST-01", "--reason", "Funding ended", "--user", "admin")
    assert closed["status"] == "closed" and len(closed["ended"]) == 1           # the submitted visitor
    assert "closed already" in cli.fails("calls", "close", "CXP-TEST-01", "--reason", "again", code=4)
    listed = {c["call"]["code"]: c["call"]["status"] for c in cli.ok("calls", "list")["calls"]}
    assert listed == {"CXP-CLI-1": "published", "CXP-TEST-01": "closed"}
