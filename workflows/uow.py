"""Unit of work: one database transaction per use case; rolls back unless committed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from workflows import audit
from workflows.audit import Actor
from workflows.clock import DatabaseClock


class UnitOfWork:
    """`with app.uow() as uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._session_factory = session_factory
        self.session: Session

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

    def commit(self) -> None:
        self.session.commit()  # writes the pending audit events first (audit.install)
        self.clock = DatabaseClock(self.session)  # a later transaction reads the clock again

    def rollback(self) -> None:
        self.session.rollback()
        self.clock = DatabaseClock(self.session)
