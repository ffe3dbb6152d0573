"""The CLI turns expected database conditions into one sentence for a person."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from workflows.cli.common import handle_errors
from workflows.cli.errors import CliError


def _raising(message: str):  # type: ignore[no-untyped-def]
    @handle_errors
    def command() -> None:
        raise OperationalError("UPDATE process_instances ...", {}, sqlite3.OperationalError(message))

    return command


def test_a_locked_sqlite_database_says_to_try_again_and_that_nothing_was_written() -> None:
    with pytest.raises(CliError, match="busy with another change: nothing was written, try again"):
        _raising("database is locked")()


def test_a_missing_table_says_to_run_init() -> None:
    with pytest.raises(CliError, match="run `cxp init`"):
        _raising("no such table: human_tasks")()
