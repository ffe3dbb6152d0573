"""The KPI report on a tiny programme driven through the real services, against numbers worked out by
hand: exchange 1 is committed on 11 January at 10:00, its visit ends on 13 February at 20:00 (33 days
10 hours planned), its evidence comes 16 days later (1 March, 19:00 UTC: one day past the due date of
28 February), its payment is approved that day and executed by the bank 12 days later (13 March); the
same visitor's second application is ineligible."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.workflows.builders import Programme, programme  # noqa: F401
from tests.workflows.reporting_programme import paid_then_ineligible
from workflows.db.process_models import OutboxMessage
from workflows.mail import render_email
from workflows.services import ServiceError
from workflows.services.reporting import kpi_report, kpi_tables


@pytest.fixture
def run(programme: Programme) -> Programme:  # noqa: F811
    paid_then_ineligible(programme)
    return programme


def rows(report, name: str) -> list[tuple]:
    return report.tables[name].rows


def test_the_kpis_of_the_month_match_the_numbers_worked_out_by_hand(run: Programme) -> None:
    report = kpi_tables(run.app, "2027-03")

    assert report.headline()["exchanges_by_status"] == {"closed": 1, "ineligible": 1}
    assert rows(report, "budget") == [("CXP-TEST-01", "30000.00", "0.00", "1100.00", "28900.00")]
    assert rows(report, "exchanges_by_country_pair") == [("BE → AT", "closed", 1), ("BE → —", "ineligible", 1)]
    assert rows(report, "exchanges_by_partnership") == [("CXP-NORTH", "closed", 1), ("CXP-NORTH", "ineligible", 1)]
    assert rows(report, "exchanges_by_sector") == [(s, st, 1) for s in ("agri_food", "digital", "health")
                                                   for st in ("closed", "ineligible")]
    assert rows(report, "applications_by_status") == [("host", "published", 1), ("visitor", "ineligible", 1),
                                                       ("visitor", "matched", 1)]
    assert rows(report, "working_days") == [(5, 1)]
    assert rows(report, "region_pairs_summary") == [(1, 0, "0.0000")]  # no region category is known
    stages = {r[0]: r[3] for r in rows(report, "stage_durations")}
    assert (stages["visit_planned"], stages["awaiting_evidence"], stages["awaiting_payment"]) == ("33.42", "16.00", "12.00")
    assert rows(report, "time_to_pay") == [("EX-000002", "2027-03-01 19:00:00", "2027-03-13 19:00:00", "12.00", False)]
    assert rows(report, "time_to_pay_summary") == [(1, "12.00", "12.00", "12.00", 0, "0.0000", 10)]


def test_an_earlier_month_is_rebuilt_from_the_audit_trail_as_it_stood_then(run: Programme) -> None:
    january, february = kpi_tables(run.app, "2027-01"), kpi_tables(run.app, "2027-02")

    assert january.headline()["exchanges_by_status"] == {"visit_planned": 1}
    assert rows(january, "working_days") == [] and january.headline()["paid_eur"] == "0.00"
    assert february.headline()["exchanges_by_status"] == {"awaiting_evidence": 1}
    assert rows(february, "overdue_tasks") == [("CXP-NORTH", "submit_evidence", 1, "0.25")]  # due 28 Feb 18:00, 6 h before the month ends


def test_an_exchange_counts_for_the_visitors_partnership_only(run: Programme) -> None:
    south = kpi_tables(run.app, "2027-03", "CXP-SOUTH")

    assert south.headline()["exchanges_by_status"] == {}
    assert south.headline()["paid_eur"] == "0.00"
    assert kpi_tables(run.app, "2027-03", "CXP-NORTH").headline()["paid_eur"] == "1100.00"


def test_the_files_hold_svg_charts_a_sheet_per_kpi_and_are_the_same_bytes_for_the_same_data(
        run: Programme, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    first = kpi_report(run.app, "2027-03", out_dir=tmp_path / "a", email=False)
    second = kpi_report(run.app, "2027-03", out_dir=tmp_path / "b", email=False)

    assert first["kpis"]["paid_eur"] == "1100.00" and first["kpis"]["exchanges_by_status"]["closed"] == 1
    names = sorted(Path(p).relative_to(tmp_path / "a").as_posix() for p in first["files"])
    assert sorted(Path(p).relative_to(tmp_path / "b").as_posix() for p in second["files"]) == names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    html = (tmp_path / "a" / "kpi-2027-03-programme.html").read_text()
    assert html.count("<svg") >= 10 and "<script" not in html.lower()
    xlsx = tmp_path / "a" / "kpi-2027-03-programme.xlsx"
    book = load_workbook(xlsx)
    assert {"exchanges_by_status", "budget", "stage_durations", "time_to_pay", "overdue_tasks"} <= set(book.sheetnames)
    sheet = book["budget"]
    assert [c.value for c in sheet[4]][:5] == ["CXP-TEST-01", 30000.0, 0.0, 1100.0, 28900.0]
    assert any(n.startswith("xl/charts/chart") for n in zipfile.ZipFile(xlsx).namelist())
    csv = (tmp_path / "a" / "kpi-2027-03-CXP-NORTH" / "exchanges_by_status.csv").read_text()
    assert csv == "status,exchanges\nclosed,1\nineligible,1\n"


def test_the_report_is_mailed_to_the_partnerships_officers_with_its_files_attached_once(run: Programme,
                                                                                      tmp_path: Path) -> None:
    kpi_report(run.app, "2027-03", out_dir=tmp_path)
    kpi_report(run.app, "2027-03", out_dir=tmp_path)  # same data: not mailed again

    mails = {m.context["scope"]: m for m in run.emails("kpi_report")}
    assert sorted(mails) == ["CXP-NORTH", "CXP-SOUTH", "programme"]
    north = mails["CXP-NORTH"]
    assert north.recipients == ["o1@cx.local", "o2@cx.local"] and mails["programme"].recipients == ["support@cx.local"]
    assert [a["filename"] for a in north.attachments] == [
        "kpi-2027-03-CXP-NORTH.html", "kpi-2027-03-CXP-NORTH.xlsx", "kpi-2027-03-CXP-NORTH-csv.zip"]
    archive = zipfile.ZipFile(io.BytesIO(Path(north.attachments[2]["path"]).read_bytes()))
    assert "budget.csv" in archive.namelist()
    subject, text, html = render_email("kpi_report", north.context)
    assert "2027-03" in subject and "1,100.00" in subject and "CXP-NORTH-csv.zip" not in text


def test_a_period_that_is_no_month_is_refused_and_writes_nothing(run: Programme, tmp_path: Path) -> None:
    with run.app.uow() as uow:
        before = len(list(uow.session.scalars(select(OutboxMessage.id))))
    with pytest.raises(ServiceError, match="--period: '2027-3' is not a month written YYYY-MM"):
        kpi_report(run.app, "2027-3", out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with run.app.uow() as uow:
        assert len(list(uow.session.scalars(select(OutboxMessage.id)))) == before
