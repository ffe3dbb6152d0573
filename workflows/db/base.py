"""Declarative base, engines and sessions. The caller decides a session's lifetime."""
from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
import weakref
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, Numeric, TypeDecorator, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker

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
        return tuple(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())  # type: ignore[return-value]

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


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`: SQLite files get WAL, foreign keys and a `WalCheckpointer`
    (`engine.cxp_checkpointer`, stopped by `dispose`); their folder is created."""
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        on_disk = bool(path) and path != ":memory:" and not path.startswith("file:")
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
        event.listen(engine, "begin", _begin)
        if on_disk:
            with engine.connect():  # the file exists, in WAL mode, before the checkpointer opens it
                pass
            checkpointer = WalCheckpointer(path)
            engine.cxp_checkpointer = checkpointer  # type: ignore[attr-defined]
            weakref.finalize(engine, checkpointer.stop)
            dispose = engine.dispose

            def dispose_and_stop(close: bool = True) -> None:
                dispose(close)
                checkpointer.stop()

            engine.dispose = dispose_and_stop  # type: ignore[method-assign]
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


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
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

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
            return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")

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
            return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)

        return process
