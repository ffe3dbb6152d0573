"""`Prepared` statements run on the driver's cursor: the same types, transaction and errors as
`Session.execute`, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, exc, insert, select, update

from workflows.db.prepared import Prepared
from workflows.db.process_models import ClockState, OutboxMessage

CLOCK = ClockState.__table__
READ = Prepared(select(CLOCK.c.id, CLOCK.c.now).where(CLOCK.c.id == bindparam("id")))
INSERT = Prepared(insert(CLOCK).values(id=bindparam("id"), now=bindparam("now")).returning(CLOCK.c.id, CLOCK.c.now))
MOVE = Prepared(update(CLOCK).where(CLOCK.c.now < bindparam("before")).values(now=bindparam("now")))
PLAIN_INSERT = Prepared(insert(CLOCK).values(id=bindparam("id"), now=bindparam("now")))

BRUSSELS = timezone(timedelta(hours=1))


def test_binds_and_reads_through_the_column_types(app) -> None:  # type: ignore[no-untyped-def]
    local = datetime(2027, 1, 4, 9, 30, tzinfo=BRUSSELS)
    with app.uow() as uow:
        conn = uow.session.connection()
        returned = INSERT.first(conn, id=7, now=local)
        assert returned == (7, datetime(2027, 1, 4, 8, 30, tzinfo=UTC))  # UTC-aware, as the ORM reads it
        assert READ.first(conn, id=7) == returned
        assert READ.first(conn, id=8) is None
        uow.commit()
    with app.uow() as uow:  # what the ORM sees is what was written
        assert uow.session.get(ClockState, 7).now == local


def test_counts_changed_rows_and_writes_many(app) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2027, 1, 1, tzinfo=UTC)
    with app.uow() as uow:
        conn = uow.session.connection()
        PLAIN_INSERT.executemany(conn, [{"id": i, "now": start + timedelta(days=i)} for i in (1, 2, 3)])
        PLAIN_INSERT.executemany(conn, [])  # nothing to write is not an error
        assert MOVE.execute(conn, before=start + timedelta(days=3), now=start + timedelta(days=9)) == 2
        assert MOVE.execute(conn, before=start, now=start) == 0
        assert sorted(row[0] for row in uow.session.execute(select(CLOCK.c.id).where(
            CLOCK.c.now == start + timedelta(days=9)))) == [1, 2]


def test_runs_inside_the_callers_transaction(app) -> None:  # type: ignore[no-untyped-def]
    with app.uow() as uow:
        PLAIN_INSERT.execute(uow.session.connection(), id=5, now=datetime(2027, 1, 1, tzinfo=UTC))
        assert uow.session.get(ClockState, 5) is not None
        # leaving without commit rolls the write back
    with app.uow() as uow:
        assert READ.first(uow.session.connection(), id=5) is None


def test_a_driver_error_is_sqlalchemys_own_and_names_the_statement(app) -> None:  # type: ignore[no-untyped-def]
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    with app.uow() as uow:
        conn = uow.session.connection()
        PLAIN_INSERT.execute(conn, id=1, now=moment)
        with pytest.raises(exc.IntegrityError) as raised:
            PLAIN_INSERT.execute(conn, id=1, now=moment)
        assert "clock_state" in str(raised.value)
        uow.rollback()
    with app.uow() as uow:  # the failed statement left nothing behind
        assert READ.first(uow.session.connection(), id=1) is None


def test_json_columns_use_the_dialects_serializer(app) -> None:  # type: ignore[no-untyped-def]
    table = OutboxMessage.__table__
    read = Prepared(select(table.c.context, table.c.recipients).where(table.c.id == bindparam("id")))
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    with app.uow() as uow:
        message = OutboxMessage(dedupe_key="k", template="t", recipients=["a@example.eu"],
                                context={"n": 1, "names": ["a", "b"]}, next_attempt_at=moment, created_at=moment)
        uow.session.add(message)
        uow.session.flush()
        assert read.first(uow.session.connection(), id=message.id) == (
            {"n": 1, "names": ["a", "b"]}, ["a@example.eu"])
