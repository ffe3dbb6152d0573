"""Shared helpers of the CLI commands: the app for --db, error translation, --data parsing."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable, TypeVar

from workflows.cli.errors import CliError

F = TypeVar("F", bound=Callable[..., Any])


def app_for(db: str | None):  # type: ignore[no-untyped-def]
    from workflows.app import App

    return App(database_url=db)


def handle_errors(fn: F) -> F:
    """Expected errors (services, rules, database not initialised) become `CliError`s."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        from rules.errors import RuleInputError
        from workflows.engine.errors import DefinitionError
        from workflows.services import PermissionDenied, ServiceError

        try:
            return fn(*args, **kwargs)
        except PermissionDenied as err:
            raise CliError(f"refused: {err}", 3) from None
        except (ServiceError, RuleInputError, DefinitionError) as err:
            raise CliError(str(err)) from None
        except (OperationalError, ProgrammingError) as err:
            text = str(err.orig) if getattr(err, "orig", None) else str(err)
            if "database is locked" in text:
                raise CliError("the database is busy with another change: nothing was written, try again") from None
            if "no such table" in text or "does not exist" in text:
                raise CliError(f"the database is not initialised or not upgraded ({text.splitlines()[0]}): run `cxp init`") from None
            raise CliError(f"database error: {text.splitlines()[0]}") from None

    return wrapper  # type: ignore[return-value]


def read_data(value: str) -> dict[str, Any]:
    """`--data` as inline JSON or `@FILE`; a clear message when it is not a JSON object."""
    source = "--data"
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise CliError(f"--data: file {path} does not exist")
        text, source = path.read_text(encoding="utf-8"), str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CliError(f"{source}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if not isinstance(data, dict):
        raise CliError(f"{source}: expected a JSON object")
    return data
