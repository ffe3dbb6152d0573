"""Shared helpers of the CLI commands: the app for --db, error translation, --data parsing.

Exit codes: 0 done; 1 done, but the outcome is not ok (`audit verify` found a changed chain, `instance
retry` left the incident open, a payment batch could not be made); 2 bad input (one sentence naming the
option, argument or field); 3 refused (the user may not do this; audited); 4 conflict (the record was
changed by someone else meanwhile, or the database was busy: nothing was written, look again and retry).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from workflows.cli.errors import EXIT_CONFLICT, EXIT_REFUSED, CliError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from workflows.app import App
    from workflows.services.access import Principal
    from workflows.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def settings_message(err: ValidationError) -> str:
    """A settings error as the environment variable a person sets: `CXP_SMTP_PORT: ...`."""
    first = err.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    field = "".join(str(p) for p in first["loc"][:1])
    return f"CXP_{field.upper()}: {message}" if field else message


def cli_settings() -> Settings:
    """The settings (environment and `.env`); a bad value is one sentence naming its variable."""
    from pydantic import ValidationError

    from workflows.settings import get_settings

    try:
        return get_settings()
    except ValidationError as err:
        raise CliError(settings_message(err)) from None


def app_for(db: str | None, create: bool = False) -> App:
    """The application on `--db` (else CXP_DATABASE_URL). A database is created only with `create`
    (`init`, `demo`); a malformed URL, a missing SQLite file or a server that does not answer is one
    sentence naming where the URL came from."""
    from workflows.app import App
    from workflows.db.base import DatabaseUnavailable
    from workflows.services.setup import check_database

    field = "--db" if db else "CXP_DATABASE_URL"
    try:
        application = App(cli_settings(), database_url=db, create=create)
    except DatabaseUnavailable as err:
        raise CliError(f"{field}: {err}") from None
    try:
        check_database(application)
    except DatabaseUnavailable as err:
        application.close()
        raise CliError(f"{field}: {err}") from None
    return application


def principal_for_option(app: App, user: str | None) -> Principal:
    """Who acts: the active user named by `--user`, resolved once; without `--user` the operator at
    the console, as the system (it reads every partnership and is in no task's lane)."""
    from workflows.services import access

    return access.SYSTEM if user is None else access.principal_by_name(app, user)


def handle_errors(fn: F) -> F:
    """Expected errors (services, rules, database not initialised) become `CliError`s."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        from rules.errors import RuleInputError
        from workflows.engine.errors import DefinitionError
        from workflows.services import Conflict, PermissionDenied, ServiceError

        try:
            return fn(*args, **kwargs)
        except PermissionDenied as err:
            raise CliError(f"refused: {err}", EXIT_REFUSED) from None
        except Conflict as err:
            raise CliError(f"conflict: {err}", EXIT_CONFLICT) from None
        except (ServiceError, RuleInputError, DefinitionError) as err:
            raise CliError(str(err)) from None
        except (OperationalError, ProgrammingError) as err:
            raise database_error(err) from None

    return wrapper  # type: ignore[return-value]


def database_error(err: Exception) -> CliError:
    text = str(getattr(err, "orig", None) or err)
    first = text.splitlines()[0] if text else type(err).__name__
    if "database is locked" in text:
        return CliError("the database is busy with another change: nothing was written, try again", EXIT_CONFLICT)
    if "no such table" in text or "does not exist" in text:
        return CliError(f"the database is not initialised or not upgraded ({first}): run `cxp init`")
    return CliError(f"database error: {first}")


def read_data(value: str) -> dict[str, Any]:
    """`--data` as inline JSON or `@FILE`; a clear message when it is not a JSON object."""
    source = "--data"
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise CliError(f"--data: file {path} does not exist")
        text, source = read_text(path, "--data"), str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CliError(f"{source}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if not isinstance(data, dict):
        raise CliError(f"{source}: expected a JSON object")
    return data


def read_text(path: Path, field: str) -> str:
    """A file given on the command line as UTF-8 text; else one sentence naming the byte (the one
    reader of `cxp import`, `workflows.services.imports.read_utf8`)."""
    from workflows.services import ServiceError
    from workflows.services.imports import read_utf8

    try:
        return read_utf8(path, field)
    except ServiceError as err:
        raise CliError(str(err)) from None
