"""The one place that wires the real adapters: database, process library, engine, clock.

It knows nothing of the use cases (`workflows.services` imports it, never the other way round): what
the services do when a process ends reaches the engine through `workflows.engine.completion`."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from workflows.db.base import make_engine, make_session_factory
from workflows.settings import Settings, get_settings
from workflows.uow import UnitOfWork, install

if TYPE_CHECKING:  # the engine (SpiffWorkflow) is imported only by commands that advance processes
    from workflows.engine.library import ProcessLibrary
    from workflows.engine.runner import Engine

T = TypeVar("T")


class built_once(Generic[T]):
    """Like `functools.cached_property`, but built once even when several threads ask at the same time
    (building the process library parses every BPMN file): the first builds under the App's lock, the
    others wait for it. Once built, the value is a plain attribute of the instance, read without a lock."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, app: Any, owner: type | None = None) -> T:
        if app is None:
            return self  # type: ignore[return-value]
        with app._build_lock:  # noqa: SLF001 - the App's own lock, taken by its own descriptor
            found = app.__dict__.get(self._name)
            if found is None:
                found = app.__dict__[self._name] = self._build(app)
        return found


def wall_now() -> datetime:
    """The wall clock: what account protection runs on (see `App.wall_clock`)."""
    return datetime.now(UTC)


class App:
    """`database_url` overrides the settings' (their files folder follows it unless set explicitly);
    with `create=False` a SQLite file that does not exist is refused (`DatabaseUnavailable`) rather
    than created — only `cxp init` and `cxp demo` make a database.

    One App may serve several threads at once (the HTTP API's thread pool): its library and engine
    are built once and safe to share; every use case opens a unit of work of its own (`uow`).

    Two clocks: the programme's (`uow.now()`, simulated in the demo and the tests: deadlines, timers,
    the audit trail's timestamps) and `wall_clock`, the real time, on which account protection runs —
    sign-in throttles and locks, web sessions and API tokens — so that moving the programme's clock
    can neither lock anyone out for good nor stretch a session. A test replaces `wall_clock` with a
    clock of its own (a callable giving a timezone-aware datetime)."""

    def __init__(self, settings: Settings | None = None, database_url: str | None = None,
                 create: bool = True) -> None:
        self.settings = settings or get_settings()
        if database_url:
            self.settings = self.settings.with_database(database_url)
        self._build_lock = threading.RLock()  # the engine is built with the library: the same thread asks twice
        self.db = make_engine(self.settings.database_url, create=create)
        self.sessions = make_session_factory(self.db)
        self.wall_clock: Callable[[], datetime] = wall_now
        install(self.sessions)  # the audit trail of a unit of work follows its session's transactions

    @built_once
    def library(self) -> ProcessLibrary:
        from workflows.engine.library import ProcessLibrary

        return ProcessLibrary()

    @built_once
    def engine(self) -> Engine:
        from workflows.due_dates import WorkingDayDeadlines
        from workflows.engine import completion
        from workflows.engine.context import EngineContext
        from workflows.engine.runner import Engine

        return Engine(self.library, EngineContext, on_completed=completion.run,
                      deadlines=WorkingDayDeadlines(self.settings.timezone))

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.sessions, self.settings.audit_key)

    def close(self) -> None:
        self.db.dispose()
