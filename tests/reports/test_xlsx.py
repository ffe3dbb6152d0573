"""The one CSV and XLSX writer (issue 18, point 7): text a spreadsheet would run as a formula is
written behind a `'`, numbers stay numbers, and no other module writes CSV or XLSX itself."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from reports.xlsx import Sheet, csv_bytes, safe_text, workbook_bytes

HOSTILE = ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil.example","x")']


def test_formula_text_gets_a_quote_and_numbers_and_plain_text_do_not() -> None:
    assert [safe_text(t) for t in HOSTILE] == ["'" + t for t in HOSTILE]
    assert [safe_text(t) for t in ("-12.50", "1100.00", "-3", "Nova", "a=b", "")] == [
        "-12.50", "1100.00", "-3", "Nova", "a=b", ""]


def test_the_csv_neutralises_every_cell_and_keeps_negative_amounts() -> None:
    data = csv_bytes(("name", "amount"), [(t, Decimal("-12.50")) for t in HOSTILE])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + t for t in HOSTILE]
    assert {r[1] for r in rows[1:]} == {"-12.50"}


def test_the_workbook_stores_text_as_strings_and_amounts_as_numbers(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "t.xlsx"
    target.write_bytes(workbook_bytes([Sheet("t", "=title", ("=col", "amount"),
                                             [(t, "-12.50") for t in HOSTILE] + [("http://x.example", 3)])],
                                      datetime(2027, 1, 1, tzinfo=UTC), "t"))
    sheet = load_workbook(target)["t"]
    assert sheet["A1"].value == "'=title" and sheet["A3"].value == "'=col"
    stored = [sheet.cell(r, 1).value.replace("_x000D_", "\r") for r in range(4, 4 + len(HOSTILE))]
    assert stored == ["'" + t for t in HOSTILE]  # (the XLSX stores a carriage return as _x000D_)
    assert {sheet.cell(r, 2).value for r in range(4, 4 + len(HOSTILE))} == {-12.5}
    assert all(c.data_type in ("s", "n") for row in sheet.iter_rows() for c in row if c.value is not None)
    assert sheet.cell(4 + len(HOSTILE), 1).hyperlink is None


def test_no_other_module_writes_csv_or_xlsx_itself() -> None:
    root = Path(__file__).resolve().parents[2]
    writers = re.compile(r"csv\.writer|DictWriter|import xlsxwriter|openpyxl|\.to_csv\(|\.to_excel\(")
    found = sorted(str(p.relative_to(root)) for package in ("reports", "workflows", "tasks", "rules")
                   for p in (root / package).rglob("*.py") if writers.search(p.read_text(encoding="utf-8")))
    assert found == ["reports/xlsx.py"]


def test_amounts_shares_dates_and_times_carry_their_number_format(tmp_path: Path) -> None:
    from datetime import date

    from openpyxl import load_workbook

    target = tmp_path / "f.xlsx"
    rows = [("EX-000001", "1100.00", "0.8500", 3, "2027-02-13", "2027-02-13 20:00:00", date(2027, 3, 1), "2027-13-45")]
    target.write_bytes(workbook_bytes([Sheet("f", "formats", ("exchange", "paid_eur", "within_target_share",
                                                                "exchanges", "day", "at", "on", "not_a_date"), rows)],
                                      datetime(2027, 1, 1, tzinfo=UTC), "f"))
    cells = list(load_workbook(target)["f"].iter_rows(min_row=4, max_row=4))[0]
    shown = [(c.value, c.number_format) for c in cells]
    assert shown[0] == ("EX-000001", "General")
    assert shown[1] == (1100.0, "#,##0.00") and shown[2] == (0.85, "0.0%") and shown[3] == (3, "General")
    assert shown[4] == (datetime(2027, 2, 13), "yyyy-mm-dd")
    assert shown[5] == (datetime(2027, 2, 13, 20, 0), "yyyy-mm-dd hh:mm")
    assert shown[6] == (datetime(2027, 3, 1), "yyyy-mm-dd")
    assert shown[7] == ("2027-13-45", "General")  # looks like a date, is not one: text
