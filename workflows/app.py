"""The one place that wires the real adapters: database, process library, engine, clock."""
from __future__ import annotations

from functools import cached_property

from typing import TYPE_CHECKING

from workflows.db.base import make_engine, make_session_factory
from workflows.settings import Settings, get_settings
from workflows.uow import UnitOfWork, install

if TYPE_CHECKING:  # the engine (SpiffWorkflow) is imported only by commands that advance processes
    from workflows.engine.library import ProcessLibrary
    from workflows.engine.runner import Engine


class App:
    """`database_url` overrides the settings' (their files folder follows it unless set explicitly);
    with `create=False` a SQLite file that does not exist is refused (`DatabaseUnavailable`) rather
    than created — only `cxp init` and `cxp demo` make a database."""

    def __init__(self, settings: Settings | None = None, database_url: str | None = None,
                 create: bool = True) -> None:
        self.settings = settings or get_settings()
        if database_url:
            self.settings = self.settings.with_database(database_url)
        self.db = make_engine(self.settings.database_url, create=create)
        self.sessions = make_session_factory(self.db)
        install(self.sessions)  # the audit trail of a unit of work follows its session's transactions

    @cached_property
    def library(self) -> "ProcessLibrary":
        from workflows.engine.library import ProcessLibrary

        return ProcessLibrary()

    @cached_property
    def engine(self) -> "Engine":
        from workflows.engine.context import EngineContext
        from workflows.engine.runner import Engine
        from workflows.services.lifecycle import on_process_completed

        return Engine(self.library, EngineContext, on_completed=on_process_completed)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.sessions, self.settings.audit_key)

    def close(self) -> None:
        self.db.dispose()
