"""Unit of work: one database transaction per use case; rolls back unless committed.

The transaction lives on one SQLAlchemy `Connection`, begun on first use. The engine's hot path — the
clock, the instance row, the human-task rows, the audit chain — runs prepared statements on it
directly (`uow.connection`). The ORM `Session` is made only when a use case asks for `uow.session`,
bound to the same connection and transaction, so both see and commit the same work. An engine step
that needs no ORM costs no session: making one, beginning, flushing, committing and closing it costs
about as much as a step's SQL itself.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from workflows.audit import Actor, Trail
from workflows.clock import DatabaseClock
from workflows.db.process_models import AuditChain, AuditEvent


class UnitOfWork:
    """`with app.uow() as uow: ...; uow.commit()` — leaving the block without commit rolls back."""

    def __init__(self, db: Engine, session_factory: sessionmaker, audit_key: str) -> None:
        self._db = db
        self._session_factory = session_factory
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._held: dict[Hashable, Any] = {}  # ORM objects made before the session was (`attach`)
        self._on_commit: dict[Hashable, Callable[[], None]] = {}
        self.locked_instances: set[int] = set()  # instance rows locked in this transaction (engine.lock)
        self.trail = Trail(lambda: self.connection, audit_key)
        self.clock = DatabaseClock(self)

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.rollback()
        finally:
            try:
                if self._session is not None:
                    self._session.close()
            finally:
                if self._connection is not None:
                    self._connection.close()

    @property
    def connection(self) -> Connection:
        """The connection of this unit of work, in its transaction (begun here if none is open)."""
        conn = self._connection
        if conn is None:
            conn = self._connection = self._db.connect()
        if not conn.in_transaction():
            conn.begin()
        return conn

    @property
    def session(self) -> Session:
        """The ORM session, made on first use, in the same transaction as `connection`."""
        session = self._session
        if session is None:
            session = self._session = self._session_factory(bind=self.connection, join_transaction_mode="control_fully")
            session.info["cxp_uow"] = self
            for obj in self._held.values():
                make_transient_to_detached(obj)
                session.add(obj)
            self._held.clear()
        return session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def held(self, cls: type, ident: Any) -> Any | None:
        """The ORM object of `cls` with primary key `ident` this unit of work already holds."""
        if self._session is not None:
            return self._session.identity_map.get(self._session.identity_key(cls, ident))
        return self._held.get((cls, ident))

    def attach(self, obj: Any, ident: Any) -> None:
        """Hold `obj`, an ORM object built from a row this unit of work read or wrote itself (its
        attribute values set, no `__init__`), as persistent and clean: in the session if there is one,
        else until the session is made."""
        if self._session is not None:
            make_transient_to_detached(obj)
            self._session.add(obj)
        else:
            self._held[(type(obj), ident)] = obj

    def write_lock(self) -> None:
        """SQLite: take the database's write lock now, before reading anything, waiting for another
        writer under the busy timeout (10 s). A transaction that reads first and writes later cannot
        wait — SQLite refuses its write at once (SQLITE_BUSY) whenever another writer went first — and
        would lose on data it read before. PostgreSQL locks rows as it writes them: nothing to do."""
        if self.connection.dialect.name == "sqlite":
            self.connection.exec_driver_sql("UPDATE human_tasks SET id = id WHERE 0")

    def now(self) -> datetime:
        return self.clock.now()

    def audit(self, actor: Actor, action: str, **kwargs: Any) -> None:
        self.trail.record(actor=actor, action=action, at=self.now(), **kwargs)

    def on_commit(self, key: Hashable, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (the latest one given per key); a rollback
        drops it."""
        self._on_commit[key] = callback

    def commit(self) -> None:
        if self._session is not None:
            self._session.flush()  # the rows first: the chains' heads are the last locks taken
        self.trail.write()
        if self._session is not None:
            self._session.commit()  # flushes; commits the connection's transaction if it joined it
        if self._connection is not None and self._connection.in_transaction():
            self._connection.commit()
        self.trail.forget()
        self.locked_instances.clear()
        self.clock = DatabaseClock(self)  # a later transaction reads the clock again
        callbacks, self._on_commit = self._on_commit, {}
        for callback in callbacks.values():
            callback()

    def rollback(self) -> None:
        try:
            if self._session is not None:
                self._session.rollback()
        finally:
            if self._connection is not None and self._connection.in_transaction():
                self._connection.rollback()
            self._held.clear()
            self.locked_instances.clear()
            self.trail.forget()
            self._on_commit = {}
            self.clock = DatabaseClock(self)


# The session of a unit of work keeps its trail in step. The events are written — and their chains'
# heads locked, on PostgreSQL — once, in one batch, as the transaction commits: the heads are the last
# locks a transaction takes, in sorted order, and are held only while it commits, so no transaction
# holding a head ever waits for another lock (no cycle through a head: SPEC §15). A savepoint's release
# writes nothing; a query of the audit tables themselves writes first, so that the session sees its
# own events. A savepoint begins at once on the shared connection (so that statements run there after
# `begin_nested()` are inside it) and takes its events back if rolled back.
def _uow(session: Session) -> UnitOfWork | None:
    return session.info.get("cxp_uow")


def _write(session: Session) -> None:
    uow = _uow(session)
    if uow is not None and not session.in_nested_transaction():  # a savepoint's release: not yet
        uow.trail.write()


_TRAIL_MAPPERS = frozenset((AuditEvent.__mapper__, AuditChain.__mapper__))


def _before_query(state: Any) -> None:
    """A query of the audit events or heads sees the events this transaction recorded."""
    uow = _uow(state.session)
    if uow is not None and uow.trail.unwritten and not _TRAIL_MAPPERS.isdisjoint(state.all_mappers):
        uow.trail.write()


def _transaction_created(session: Session, transaction: Any) -> None:
    uow = _uow(session)
    if uow is not None and transaction.nested:
        uow.trail.mark(id(transaction))
        session.connection()  # emits the SAVEPOINT now rather than at the session's next statement


def _committed(session: Session) -> None:
    """After a commit (not a savepoint's release: its events are written with the transaction's) the
    next events read their chains' heads again — on PostgreSQL, locking them again."""
    uow = _uow(session)
    if uow is not None and not session.in_nested_transaction():
        uow.trail.forget()


def _rolled_back(session: Session, transaction: Any) -> None:
    uow = _uow(session)
    if uow is None:
        return
    if transaction.nested:
        uow.trail.undo(id(transaction))
    else:
        uow.trail.forget()


def install(sessions: sessionmaker) -> None:
    """Wire the units of work's trails into every session of a session factory."""
    event.listen(sessions, "before_commit", _write)
    event.listen(sessions, "do_orm_execute", _before_query)
    event.listen(sessions, "after_transaction_create", _transaction_created)
    event.listen(sessions, "after_soft_rollback", _rolled_back)
    event.listen(sessions, "after_commit", _committed)
