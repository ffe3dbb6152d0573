"""Use cases: one small function per thing a person or a schedule does; CLI, web and flows call them.

Their expected errors are typed, and each entry point maps them once: `NotFound` (CLI exit 2, HTTP
404 — also for a record of another partnership the caller may not see), `Refused` (exit 3, HTTP 403;
audited by `workflows.services.access.refuse`), `Unauthenticated` (HTTP 401, or 429 when it carries
`retry_after`), `Conflict` (exit 4, HTTP 409), `Invalid` (exit 2,
HTTP 422 with each field named). Any other `ServiceError` is bad input (exit 2, HTTP 422)."""
from __future__ import annotations

from dataclasses import dataclass


class ServiceError(Exception):
    """An expected refusal with a sentence for a person (naming the field where there is one)."""


class NotFound(ServiceError):
    pass


class Refused(ServiceError):
    """The principal may not do this (the refusal was audited)."""


PermissionDenied = Refused  # the name used before the access module


class Unauthenticated(ServiceError):
    """No valid credentials: a wrong username or password (never saying which), an unknown, expired or
    revoked token, a disabled user, a session older than the password. HTTP 401; with `retry_after`
    (seconds) the sign-in was refused for repeating failures: HTTP 429 with `Retry-After`."""

    def __init__(self, message: str = "wrong username or password", retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(ServiceError):
    """Too many requests of one kind from one client (registrations per address): HTTP 429 with
    `Retry-After`, nothing written."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(ServiceError):
    """The record was changed by someone else meanwhile (a lost race): nothing was written, and it is
    not a refusal — the person may look again and retry. The CLI exits 4, the HTTP API answers 409."""


class TooLarge(ServiceError):
    """An upload above its size limit (HTTP 413)."""


class WrongType(ServiceError):
    """An upload whose content is not of an accepted type, judged by its bytes, not its name (HTTP 415)."""


@dataclass(frozen=True)
class FieldError:
    """One field of a form or a request that is wrong: `loc` its path (("arrival",), ("documents", 0,
    "sha256")), `msg` what is wrong with it, in a sentence for a person."""

    loc: tuple[str | int, ...]
    msg: str

    @property
    def field(self) -> str:
        return ".".join(str(p) for p in self.loc)


class Invalid(ServiceError):
    """Data that does not fit: the fields it names keep their list up to the entry point (HTTP 422
    with `detail` as `[{loc, msg}]`, a form with a message beside each field, one line on the CLI)."""

    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.fields = list(fields or [])

    @classmethod
    def field(cls, name: str, msg: str) -> Invalid:
        """One field wrong: `Invalid.field("amount", "must be positive")` reads `amount: must be positive`."""
        return cls(f"{name}: {msg}", [FieldError(tuple(name.split(".")), msg)])


def task_conflict(task_id: int) -> Conflict:
    """The one message of a claim, release or completion that lost its task to someone else."""
    return Conflict(f"task {task_id} was completed or changed by someone else meanwhile; nothing was written")
