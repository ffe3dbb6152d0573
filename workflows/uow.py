"""Unit of work: one database transaction per use case; rolls back unless committed."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Hashable

from sqlalchemy.orm import Session, sessionmaker

from workflows import audit
from workflows.audit import Actor
from workflows.clock import DatabaseClock


class UnitOfWork:
    """`with app.uow() as uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._session_factory = session_factory
        self.session: Session
        self._on_commit: dict[Hashable, Callable[[], None]] = {}

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        self.clock = DatabaseClock(self.session)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.rollback()
        finally:
            self.session.close()

    def now(self) -> datetime:
        return self.clock.now()

    def audit(self, actor: Actor, action: str, **kwargs: Any) -> None:
        audit.record(self.session, actor=actor, action=action, at=self.now(), **kwargs)

    def on_commit(self, key: Hashable, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (the latest one given per key); a rollback
        drops it."""
        self._on_commit[key] = callback

    def commit(self) -> None:
        self.session.commit()  # writes the pending audit events first (audit.install)
        self.clock = DatabaseClock(self.session)  # a later transaction reads the clock again
        callbacks, self._on_commit = self._on_commit, {}
        for callback in callbacks.values():
            callback()

    def rollback(self) -> None:
        self.session.rollback()
        self._on_commit = {}
        self.clock = DatabaseClock(self.session)
