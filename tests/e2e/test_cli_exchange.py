"""`cxp exchange ...` as an officer runs it: cancel a running exchange, with refusals in one line."""
from __future__ import annotations

import pytest

from tests.e2e.test_cli_foundation import Cli, cli, small  # noqa: F401

pytestmark = pytest.mark.slow


def test_an_officer_cancels_an_exchange_from_the_command_line(small) -> None:  # noqa: F811
    cli, prog = small
    ref = prog.exchange_ref
    refused = cli.fails("exchange", "cancel", ref, "--user", "visitor", "--reason", "Changed our minds.", code=3)
    assert "only the exchange's partnership officers may" in refused
    assert "reason" in cli.fails("exchange", "cancel", ref, "--user", "officer1.north", "--reason", " ", code=2)
    done = cli.ok("exchange", "cancel", ref, "--user", "officer1.north", "--reason", "The organisation withdrew.")
    assert done["action"] == "cancelled" and done["status"] == "cancelled"
    again = cli.fails("exchange", "cancel", ref, "--user", "officer1.north", "--reason", "Twice.")
    assert "has already ended (cancelled)" in again
    assert "no extension waiting" in cli.fails("exchange", "decide-extension", ref, "--user", "officer1.north",
                                               "--approve")
    assert "--until" in cli.fails("exchange", "extend", ref, "--user", "visitor", "--until", "soon",
                                  "--reason", "More meetings.")
