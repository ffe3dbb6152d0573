"""UTCDateTime on SQLite writes exactly the text SQLAlchemy's own SQLite type writes (so stored
values, comparisons and ordering are unchanged) and reads it back as UTC-aware datetimes."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from workflows.db.base import UTCDateTime

SQLITE = sqlite.dialect()
MOMENTS = [
    datetime(2027, 1, 4, 9, 0, tzinfo=timezone(timedelta(hours=1))),
    datetime(2027, 3, 28, 18, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    datetime(999, 1, 1, 0, 0, 1, 5, tzinfo=UTC),
]


def _sqlalchemys_text(moment: datetime) -> str:
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)(naive)


@pytest.mark.parametrize("moment", MOMENTS)
def test_sqlite_text_is_sqlalchemys_and_reads_back_in_utc(moment: datetime) -> None:
    column = UTCDateTime().dialect_impl(SQLITE)
    text = column.bind_processor(SQLITE)(moment)
    assert text == _sqlalchemys_text(moment)
    back = column.result_processor(SQLITE, None)(text)
    assert back == moment and back.tzinfo == UTC


def test_sqlite_reads_text_written_without_microseconds_or_with_an_offset() -> None:
    read = UTCDateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert read("2027-01-04 08:00:00") == datetime(2027, 1, 4, 8, tzinfo=UTC)
    assert read("2027-01-04 09:00:00+01:00") == datetime(2027, 1, 4, 8, tzinfo=UTC)
    assert read("2027-01-04T08:00:00Z") == datetime(2027, 1, 4, 8, tzinfo=UTC)
    assert read("2027-01-04") == datetime(2027, 1, 4, tzinfo=UTC)  # a bare date is midnight UTC
    assert all(read(text).utcoffset() == timedelta(0) for text in ("2027-01-04 08:00:00", "2027-01-04 09:00:00+01:00"))
    assert read(None) is None


def test_naive_datetimes_are_refused_on_every_database() -> None:
    for dialect in (SQLITE, postgresql.psycopg.dialect()):
        bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect) or \
            (lambda v, dialect=dialect: UTCDateTime().process_bind_param(v, dialect))
        with pytest.raises(ValueError, match="naive datetime"):
            bind(datetime(2027, 1, 1))
        assert bind(None) is None
