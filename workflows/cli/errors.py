"""How the command line reports expected errors: one sentence on stderr, a non-zero exit."""
from __future__ import annotations

import sys

import typer


class CliError(Exception):
    """An expected error whose message is meant for the person at the terminal."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(message: str, exit_code: int = 2) -> None:
    """Print `error: message` on stderr and leave with `exit_code` (no traceback)."""
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(exit_code)


def echo_json(document: object) -> None:
    """Print one JSON document on stdout (Decimal and dates as strings)."""
    import json
    from datetime import date, datetime
    from decimal import Decimal

    def default(value: object) -> object:
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    typer.echo(json.dumps(document, default=default, indent=2, sort_keys=False))
