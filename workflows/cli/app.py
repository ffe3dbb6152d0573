"""The `cxp` command line: a thin entry point over the services in `workflows`.

Heavy libraries (Prefect, pandas, the web stack) are imported inside the commands that need them,
so that `cxp tasks` and friends start fast.
"""
from __future__ import annotations

import sys

import typer

from workflows.cli import rules as rules_cli
from workflows.cli.errors import CliError, fail

app = typer.Typer(
    name="cxp",
    help="ClusterXchange grant orchestrator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(rules_cli.app, name="rules", help="Programme rules: working days, grant amounts.")


def main() -> None:
    """Console entry point: expected errors become one line on stderr and exit code 2."""
    try:
        app()
    except CliError as err:
        fail(str(err), err.exit_code)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        fail("interrupted", 130)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
