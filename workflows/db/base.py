"""Declarative base, engines and sessions. The caller decides a session's lifetime."""
from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
import weakref
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, Numeric, Table, TypeDecorator, create_engine, event
from sqlalchemy.engine import URL, CursorResult, Result, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, Decimal: Money}


log = logging.getLogger(__name__)

T = TypeVar("T")


def must_get(session: Session, model: type[T], ident: Any, with_for_update: bool = False) -> T:
    """The row of `model` with primary key `ident` that must exist by construction (a foreign key
    followed inside one transaction), locked for this transaction with `with_for_update`;
    `LookupError` naming it when it does not — a broken invariant, never a person's bad input (that
    is `NotFound`, raised by the use case)."""
    row = session.get(model, ident, with_for_update=with_for_update)
    if row is None:
        raise LookupError(f"{model.__name__} {ident!r} does not exist")
    return row


def rows_matched(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE run by `Session.execute` matched: the session types its answer as a
    `Result`, which for such a statement is a `CursorResult`, the one that counts."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} is not the result of an UPDATE or DELETE")
    return result.rowcount


def table_of(model: type[Base]) -> Table:
    """The Core `Table` a declarative class maps, for `insert()`/`update()` statements: SQLAlchemy
    types `Model.__table__` as the wider `FromClause` (a class may map a join or a select)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} maps {type(table).__name__}, not a table")
    return table


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # WalCheckpointer does it, off the committing thread
    cursor.close()


class WalCheckpointer:
    """Copies a SQLite database's write-ahead log back into the database file from a thread of its own.

    By default the connection whose commit takes the log past 1,000 pages runs the checkpoint, and
    with it the only fsync calls of WAL mode (`synchronous=NORMAL`): every hundredth step of a process
    waited 10–25 ms for the disk. Here the application's connections never checkpoint
    (`wal_autocheckpoint=0`); this thread runs a PASSIVE checkpoint — it never blocks readers or
    writers — every `interval` seconds, and once more when stopped (engine disposed, garbage-collected,
    or the process exits). SQLite releases the GIL while it copies and syncs, so steps go on meanwhile.
    Crash safety is SQLite's own: a log that was not checkpointed is replayed by the next connection.
    """

    def __init__(self, path: str, interval: float = 0.25) -> None:
        self.path = path
        self.interval = interval
        self.last: tuple[int, int, int] | None = None  # the latest checkpoint's report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint:{Path(path).name}", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=1000")
        except sqlite3.Error as err:  # not a database: nothing to look after
            log.warning("WAL checkpointer for %s not started: %s", self.path, err)
            return
        try:
            while True:
                stopping = self._stop.wait(self.interval)
                try:
                    self.last = self.checkpoint(connection)
                except sqlite3.Error as err:  # busy, or a disk hiccup: the next round tries again
                    log.debug("WAL checkpoint of %s failed: %s", self.path, err)
                if stopping:
                    break
        finally:
            connection.close()

    @staticmethod
    def checkpoint(connection: sqlite3.Connection) -> tuple[int, int, int]:
        """(busy, frames in the log, frames copied to the database) — SQLite's own report."""
        return tuple(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())

    def stop(self) -> None:
        """Checkpoint once more and end the thread (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        atexit.unregister(self.stop)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def _begin(conn: Any) -> None:
    """BEGIN on the driver's connection itself: this runs at the start of every transaction, and the
    driver call costs a tenth of `exec_driver_sql`."""
    conn.connection.dbapi_connection.execute("BEGIN")


class DatabaseUnavailable(Exception):
    """A database URL that cannot be used — malformed, an unknown driver, a SQLite file that does not
    exist (when it may not be created), no server — with one sentence for a person (the caller names
    where the URL came from: `--db`, `CXP_DATABASE_URL`)."""


URL_EXAMPLES = "examples: sqlite:///var/cxp.db, postgresql+psycopg://user@host/db"
DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2")


def parse_database_url(url: str) -> URL:
    """The parsed URL of a database this product runs on, or `DatabaseUnavailable`."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"{url!r} is not a database URL ({URL_EXAMPLES})") from None
    if parsed.drivername not in DRIVERS:
        raise DatabaseUnavailable(f"{url!r} names the database driver {parsed.drivername!r}, which ClusterXchange "
                                  f"does not run on (drivers: {', '.join(DRIVERS)}; {URL_EXAMPLES})")
    return parsed


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL on disk; None for in-memory databases and other back ends."""
    parsed = url if isinstance(url, URL) else make_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


POOL_SIZE = 20


def make_engine(url: str, create: bool = True, **kwargs: Any) -> Engine:
    """An engine for `url`: SQLite files get WAL, foreign keys and a `WalCheckpointer`
    (`engine.cxp_checkpointer`, stopped by `dispose`). With `create` a missing SQLite file and its
    folder are created; without, a missing file is `DatabaseUnavailable` and nothing is made."""
    parsed = parse_database_url(url)
    # as many pooled connections as the web server runs requests at once (its thread pool): with
    # SQLAlchemy's default of 5 (+10 overflow, closed when returned), 20 concurrent requests opened
    # and closed a connection on most requests (benchmarks/http.py)
    if parsed.get_backend_name() != "sqlite" or sqlite_file(parsed) is not None:  # not an in-memory one
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_SIZE)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("connect_args", {"connect_timeout": 10})
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    path = sqlite_file(parsed)
    if path is not None:
        if not create and not path.is_file():
            shown = parsed.render_as_string()
            raise DatabaseUnavailable(f"{shown} does not exist; run cxp init --db {shown} first")
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    event.listen(engine, "begin", _begin)
    if path is not None:
        _open_sqlite_file(engine, path)
        checkpointer = WalCheckpointer(str(path))
        engine.cxp_checkpointer = checkpointer  # type: ignore[attr-defined]
        weakref.finalize(engine, checkpointer.stop)
        dispose = engine.dispose

        def dispose_and_stop(close: bool = True) -> None:
            dispose(close)
            checkpointer.stop()

        engine.dispose = dispose_and_stop  # type: ignore[method-assign]
    return engine


def _open_sqlite_file(engine: Engine, path: Path) -> None:
    """Connect once, so that the file exists in WAL mode before the checkpointer opens it."""
    try:
        with engine.connect():
            pass
    except DBAPIError as err:
        engine.dispose()
        reason = str(err.orig).splitlines()[0] if err.orig is not None else str(err)
        if "not a database" in reason:
            raise DatabaseUnavailable(f"{path} is not a SQLite database file") from None
        raise DatabaseUnavailable(f"{path} cannot be opened as a SQLite database ({reason})") from None


def check_connection(engine: Engine) -> None:
    """Connect once to a database server; a sentence naming the server or database when that fails."""
    if engine.dialect.name == "sqlite":
        return
    url = engine.url
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    try:
        with engine.connect():
            pass
    except DBAPIError as err:
        reason = " ".join(str(err.orig if err.orig is not None else err).split())
        if f'database "{url.database}" does not exist' in reason:
            raise DatabaseUnavailable(f"database {url.database!r} does not exist on the server at {where}; "
                                      f"create it (createdb {url.database}), then run cxp init") from None
        if "authentication failed" in reason or "no pg_hba.conf entry" in reason:
            raise DatabaseUnavailable(f"the server at {where} refused user {url.username!r} ({reason})") from None
        raise DatabaseUnavailable(f"no database server answers at {where} ({reason})") from None


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes in, UTC-aware datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite the datetime is stored as text. SQLAlchemy's own SQLite processors format it with a
    # %-template and parse it back with a regular expression, several microseconds each, for every
    # datetime of every row; `isoformat`/`fromisoformat` (C) write and read the very same text.
    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a timezone-aware column")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:  # naive UTC, as `bind_processor` writes it: parsed with its offset in one call
                moment = parse(value + "+00:00")
                if moment.tzinfo is not None:  # (a bare date parses, but naive)
                    return moment
            except ValueError:  # text with an offset of its own
                pass
            moment = parse(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

        return process
