"""Statements for the engine's hot path, compiled once per dialect and run on the driver's cursor.

The engine writes the instance state, the human-task rows and the audit events at every step. Run
through `Session.execute`, each statement costs about 90 µs of SQLAlchemy bookkeeping on SQLite, more
than the driver's own work; even `Connection.exec_driver_sql` spends about 40 µs building an execution
context and a result object. A `Prepared` keeps SQLAlchemy's compiler and its types — placeholders and
bind processors (UTC datetimes, JSON) and result processors come from the dialect — and runs the
compiled SQL on the DBAPI cursor of the given connection (a unit of work's `uow.connection`), inside
its transaction (about 10 µs). Driver errors are raised as SQLAlchemy's own exceptions
(`IntegrityError`, …), as `Session.execute` would raise them.

Note: the driver path does not autoflush the ORM session, and SQLAlchemy's engine events and echo
logging do not see these statements; the engine writes only rows the ORM has already flushed or does
not hold.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    binders: tuple[Callable[[Any], Any] | None, ...]
    readers: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, reader) of the columns with one
    literals: dict[str, Any]


class Prepared:
    """`Prepared(select(...).where(t.c.id == bindparam("id")))`, then `.rows(conn, id=1)`."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        """Compiled on first use per dialect. Shared by threads without a lock: two threads that both
        miss compile the same immutable `_Compiled` and one assignment wins, which is harmless."""
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            if not isinstance(compiled, SQLCompiler):  # a DDL statement: not what the hot path runs
                raise TypeError(f"{type(self.statement).__name__} does not compile to SQL with parameters")
            names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
            binders = tuple(compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
            columns = getattr(self.statement, "selected_columns", None) or \
                getattr(self.statement, "_returning", None) or ()
            processors = (c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
            readers = tuple((i, read) for i, read in enumerate(processors) if read is not None)
            literals = {n: b.value for n, b in compiled.binds.items() if not b.required}  # `id == 1`
            found = _Compiled(str(compiled), names, compiled.positional, binders, readers, literals)
            self._by_dialect[dialect.name] = found
        return found

    @staticmethod
    def _bind(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        if compiled.literals:
            params = {**compiled.literals, **params}
        values = [params[n] if bind is None else bind(params[n]) for n, bind in zip(compiled.names, compiled.binders, strict=True)]
        return tuple(values) if compiled.positional else dict(zip(compiled.names, values, strict=True))

    def _run(self, conn: Connection, many: bool, params: Any) -> Any:
        """The driver's cursor after running the statement on `conn`'s DBAPI connection (in its
        transaction); a driver error comes out as the matching `sqlalchemy.exc.DBAPIError`."""
        compiled = self._compiled(conn.dialect)
        cursor = conn.connection.cursor()
        try:
            if many:
                cursor.executemany(compiled.sql, params)
            else:
                cursor.execute(compiled.sql, params)
        except conn.dialect.loaded_dbapi.Error as err:
            cursor.close()
            raise exc.DBAPIError.instance(compiled.sql, params, err, conn.dialect.loaded_dbapi.Error,
                                          dialect=conn.dialect) from err
        return cursor

    def for_driver(self, dialect: Dialect, **params: Any) -> tuple[str, Any]:
        """The SQL text and the parameters as the driver takes them (for a raw-driver baseline)."""
        compiled = self._compiled(dialect)
        return compiled.sql, self._bind(compiled, params)

    def execute(self, conn: Connection, **params: Any) -> int:
        """Run once; the number of rows it changed."""
        cursor = self._run(conn, False, self._bind(self._compiled(conn.dialect), params))
        count = cursor.rowcount
        cursor.close()
        return count

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            compiled = self._compiled(conn.dialect)
            self._run(conn, True, [self._bind(compiled, row) for row in rows]).close()

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """The selected (or returned) rows, each value read through its column's type."""
        compiled = self._compiled(conn.dialect)
        cursor = self._run(conn, False, self._bind(compiled, params))
        raw = cursor.fetchall()
        cursor.close()
        readers = compiled.readers
        if not readers:
            return [tuple(row) for row in raw]
        rows = []
        for row in raw:  # only the columns whose type reads them (datetimes, JSON) are touched
            values = list(row)
            for i, read in readers:
                values[i] = read(values[i])
            rows.append(tuple(values))
        return rows

    def first(self, conn: Connection, **params: Any) -> tuple[Any, ...] | None:
        found = self.rows(conn, **params)
        return found[0] if found else None

    def one(self, conn: Connection, **params: Any) -> tuple[Any, ...]:
        """The one row an INSERT … RETURNING (or a lookup that must match) gives; `LookupError` if none."""
        found = self.rows(conn, **params)
        if not found:
            raise LookupError(f"no row from {str(self.statement).split()[0]} with {sorted(params)}")
        return found[0]
