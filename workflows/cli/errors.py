"""How the command line reports expected errors: one sentence on stderr, a non-zero exit."""
from __future__ import annotations

import sys

import typer

EXIT_NOT_OK = 1     # the command ran, but what it found or left is not ok (see each command's help)
EXIT_INPUT = 2      # bad input: an option, argument, file or field (named in the message)
EXIT_REFUSED = 3    # the user may not do this (the refusal is audited)
EXIT_CONFLICT = 4   # changed by someone else meanwhile, or the database was busy: nothing written, retry

EXIT_CODES_HELP = ("Exit codes: 0 done; 1 done but not ok (audit verify: chain changed; instance retry: "
                   "incident still open; flows run payment-batch: a batch not made); 2 bad input, named; "
                   "3 refused (audited); 4 conflict: changed by someone else meanwhile or the database was "
                   "busy, nothing written.")


class CliError(Exception):
    """An expected error whose message is meant for the person at the terminal."""

    def __init__(self, message: str, exit_code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(message: str, exit_code: int = EXIT_INPUT) -> None:
    """Print `error: message` on stderr and leave with `exit_code` (no traceback)."""
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
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
