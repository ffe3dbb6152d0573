"""The one writer of every spreadsheet and CSV file the product makes (report tables, the publication
extract, the FSTP report, the KPI files, the payment batch's summary): one sheet per table, native
Excel charts, fixed timestamps, so that the same tables give the same bytes.

Formula injection (OWASP "CSV injection"): a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return would be run by a spreadsheet as a formula (`=HYPERLINK(…)` a live link), so such text
is written with a leading `'`; numbers (and decimal text such as "-12.50") stay numbers. In the XLSX
every text cell is written as a string (`write_string`), never parsed as a formula, number or URL."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


@dataclass(frozen=True)
class Sheet:
    name: str
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    chart: tuple[str, str, str | None] | None = None  # (category column, value column, series column)


def safe_text(text: str) -> str:
    """`text` as a spreadsheet shows it and never runs it: a leading `'` before a formula's first
    character; a plain number ("-12.50") is left as it is."""
    if text.startswith(FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_bytes(columns: Sequence[str], rows: Sequence[Sequence[Any]], lineterminator: str = "\n") -> bytes:
    """The table as UTF-8 CSV: a header, then one line per row, every text cell neutralised. Each line
    is written with a CRLF writer (so that a field holding a carriage return or a line feed is quoted,
    and `'\r=1+1` cannot start a line of its own) and then ended by `lineterminator`."""
    lines = [[safe_text(str(c)) for c in columns],
             *(["" if v is None else safe_text(_text(v)) for v in row] for row in rows)]
    out = []
    for line in lines:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(line)
        out.append(buffer.getvalue()[:-2] + lineterminator)
    return "".join(out).encode("utf-8")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cell(value: Any) -> Any:
    """Amounts and other decimal text as numbers, so that Excel can sum and chart them."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value and value.replace(".", "", 1).lstrip("-").isdigit() and "." in value:
        return float(value)
    return value


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_ISO_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?\Z")


def _moment(value: Any) -> date | datetime | None:
    """A date or a local date and time (a value, or its ISO text with no zone), as Excel stores them."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    try:
        if isinstance(value, str) and _ISO_DAY.match(value):
            return date.fromisoformat(value)
        if isinstance(value, str) and _ISO_MOMENT.match(value):
            return datetime.fromisoformat(value)
    except ValueError:  # shaped like a date, is none ("2027-13-45"): stays text
        return None
    return None


class Formats:
    """The cell formats of a workbook: amounts with two decimals and thousands, shares as percentages,
    dates and times as dates (so that Excel sorts, filters and sums them)."""

    def __init__(self, book: Any) -> None:
        self.bold = book.add_format({"bold": True})
        self.decimal = book.add_format({"num_format": "#,##0.00"})
        self.share = book.add_format({"num_format": "0.0%"})
        self.day = book.add_format({"num_format": "yyyy-mm-dd"})
        self.moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})


def _write_row(ws: Any, row: int, col: int, values: Sequence[Any], fmt: Any = None,
               formats: Formats | None = None, columns: Sequence[str] = ()) -> None:
    """Numbers as numbers, dates as dates, everything else as neutralised text (`write_string`: never a
    formula). With `formats`, a data row's decimals, shares (a column named `share` or `…_share`),
    dates and times get their number format."""
    for offset, raw in enumerate(values):
        value = _cell(raw)
        column = columns[offset] if offset < len(columns) else ""
        moment = _moment(raw) if formats is not None else None
        if value is None:
            ws.write_blank(row, col + offset, None, fmt)
        elif moment is not None and formats is not None:
            ws.write_datetime(row, col + offset, moment,
                              formats.moment if isinstance(moment, datetime) else formats.day)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number_format = fmt
            if formats is not None and (column == "share" or column.endswith("_share")):
                number_format = formats.share
            elif formats is not None and isinstance(value, float):
                number_format = formats.decimal
            ws.write_number(row, col + offset, value, number_format)
        else:
            text = value.isoformat() if isinstance(value, date | datetime) else _text(value)
            ws.write_string(row, col + offset, safe_text(text), fmt)


def workbook_bytes(sheets: Sequence[Sheet], created: datetime, title: str) -> bytes:
    """An XLSX workbook: a sheet per table (header, rows, a native bar chart where the table has one)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    book.set_properties({"title": title, "author": "ClusterXchange", "created": created.replace(tzinfo=None)})
    formats = Formats(book)
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name[:31])
        ws.write_string(0, 0, safe_text(sheet.title), formats.bold)
        _write_row(ws, 2, 0, list(sheet.columns), formats.bold)
        for r, row in enumerate(sheet.rows, start=3):
            _write_row(ws, r, 0, row, None, formats, sheet.columns)
        ws.set_column(0, max(len(sheet.columns) - 1, 0), 18)
        if sheet.chart and sheet.rows:
            _chart(book, ws, sheet)
    book.close()
    return buffer.getvalue()


def _chart(book: Any, ws: Any, sheet: Sheet) -> None:
    """The chart's data as a small pivot right of the table (categories × series), charted natively."""
    from reports.charts import chart_records

    x, value, colour = sheet.chart  # type: ignore[misc]
    records = chart_records(sheet.columns, sheet.rows, x, value, colour)
    categories = sorted({r[x] for r in records})
    series = sorted({r[colour] for r in records}) if colour else [value]
    grid = {(r[x], r[colour] if colour else value): r[value] for r in records}
    left = len(sheet.columns) + 1
    _write_row(ws, 2, left, [x, *series])
    for i, category in enumerate(categories, start=3):
        _write_row(ws, i, left, [category, *[grid.get((category, s), 0) for s in series]])
    chart = book.add_chart({"type": "bar", "subtype": "stacked" if colour else None} if colour else {"type": "bar"})
    last = 2 + len(categories)
    for j, _name in enumerate(series, start=1):
        chart.add_series({"name": [ws.name, 2, left + j], "categories": [ws.name, 3, left, last, left],
                          "values": [ws.name, 3, left + j, last, left + j]})
    chart.set_title({"name": sheet.title})
    chart.set_legend({"position": "bottom"} if colour else {"none": True})
    ws.insert_chart(2, left + len(series) + 2, chart, {"x_scale": 1.4, "y_scale": 1.4})
