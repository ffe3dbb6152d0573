"""Statements for the engine's hot path, compiled once per dialect and run through the driver.

The engine writes the instance state, the human-task rows and the audit events at every step. Run
through `Session.execute`, each statement costs about 90 µs of SQLAlchemy bookkeeping on SQLite, more
than the driver's own work; the same statement compiled once and run with `exec_driver_sql` costs about
15 µs. A `Prepared` keeps SQLAlchemy's compiler and its types — placeholders and bind processors
(UTC datetimes, JSON) come from the dialect — and drops only the per-call overhead. It runs on the
session's own connection, inside the caller's transaction.

Note: the driver path does not autoflush the ORM session; the engine writes only rows the ORM has
already flushed or does not hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    binders: tuple[Callable[[Any], Any] | None, ...]
    readers: tuple[Callable[[Any], Any] | None, ...]
    literals: dict[str, Any]


class Prepared:
    """`Prepared(select(...).where(t.c.id == bindparam("id")))`, then `.rows(conn, id=1)`."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
            binders = tuple(compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
            columns = getattr(self.statement, "selected_columns", None) or \
                getattr(self.statement, "_returning", None) or ()
            readers = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
            literals = {n: b.value for n, b in compiled.binds.items() if not b.required}  # `id == 1`
            found = _Compiled(str(compiled), names, compiled.positional, binders, readers, literals)
            self._by_dialect[dialect.name] = found
        return found

    @staticmethod
    def _bind(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        if compiled.literals:
            params = {**compiled.literals, **params}
        values = [params[n] if bind is None else bind(params[n]) for n, bind in zip(compiled.names, compiled.binders)]
        return tuple(values) if compiled.positional else dict(zip(compiled.names, values))

    def execute(self, conn: Connection, **params: Any) -> int:
        """Run once; the number of rows it changed."""
        compiled = self._compiled(conn.dialect)
        return conn.exec_driver_sql(compiled.sql, self._bind(compiled, params)).rowcount

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            compiled = self._compiled(conn.dialect)
            conn.exec_driver_sql(compiled.sql, [self._bind(compiled, row) for row in rows])

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """The selected (or returned) rows, each value read through its column's type."""
        compiled = self._compiled(conn.dialect)
        raw = conn.exec_driver_sql(compiled.sql, self._bind(compiled, params)).fetchall()
        readers = compiled.readers
        return [tuple(v if read is None else read(v) for v, read in zip(row, readers)) for row in raw]

    def first(self, conn: Connection, **params: Any) -> tuple[Any, ...] | None:
        found = self.rows(conn, **params)
        return found[0] if found else None
