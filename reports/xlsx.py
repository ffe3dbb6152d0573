"""Spreadsheets and CSV files of report tables: one sheet per table, native Excel charts, fixed
timestamps, so that the same tables give the same bytes."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Sheet:
    name: str
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    chart: tuple[str, str, str | None] | None = None  # (category column, value column, series column)


def csv_bytes(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else _text(v) for v in row])
    return out.getvalue().encode("utf-8")


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


def workbook_bytes(sheets: Sequence[Sheet], created: datetime, title: str) -> bytes:
    """An XLSX workbook: a sheet per table (header, rows, a native bar chart where the table has one)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"title": title, "author": "ClusterXchange", "created": created.replace(tzinfo=None)})
    bold = book.add_format({"bold": True})
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name[:31])
        ws.write(0, 0, sheet.title, bold)
        ws.write_row(2, 0, list(sheet.columns), bold)
        for r, row in enumerate(sheet.rows, start=3):
            ws.write_row(r, 0, [_cell(v) for v in row])
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
    ws.write_row(2, left, [x, *series])
    for i, category in enumerate(categories, start=3):
        ws.write_row(i, left, [category, *[grid.get((category, s), 0) for s in series]])
    chart = book.add_chart({"type": "bar", "subtype": "stacked" if colour else None} if colour else {"type": "bar"})
    last = 2 + len(categories)
    for j, _name in enumerate(series, start=1):
        chart.add_series({"name": [ws.name, 2, left + j], "categories": [ws.name, 3, left, last, left],
                          "values": [ws.name, 3, left + j, last, left + j]})
    chart.set_title({"name": sheet.title})
    chart.set_legend({"position": "bottom"} if colour else {"none": True})
    ws.insert_chart(2, left + len(series) + 2, chart, {"x_scale": 1.4, "y_scale": 1.4})
