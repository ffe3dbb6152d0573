"""Fault injection for the crash tests: `CXP_CRASH_AT=<point>` kills the process at that point.

Use cases that must survive a crash at any point (the payment batch, the outbox) call
`crash_point("name")` between their steps. Normally this does nothing; when the environment variable
`CXP_CRASH_AT` names that point, the process ends at once with `os._exit(137)` — no `finally`
blocks, no rollback, no flush — which is what a `kill -9` or a power cut does to it. The tests run
the CLI in a subprocess for each point, then run again and check that nothing was done twice.
"""
from __future__ import annotations

import os

CRASH_ENV = "CXP_CRASH_AT"
CRASH_EXIT_CODE = 137  # what a shell reports for a process killed with SIGKILL


def crash_point(name: str) -> None:
    """End the process abruptly if `CXP_CRASH_AT` names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(CRASH_EXIT_CODE)
