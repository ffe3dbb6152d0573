"""The pure parts of the reports: KPI tables from hand-made rows, their charts and spreadsheets, the
deterministic ZIP, the sample's draw and the BPMN diagram; and the KPI benchmark agreeing with DuckDB."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

from reports.archive import zip_bytes
from reports.bpmn_svg import DONE, diagram_svg
from reports.charts import bar_chart_svg, chart_records
from reports.kpi import KpiRows, arrow_table, compute
from reports.sampling import sample
from reports.xlsx import Sheet, workbook_bytes

T0 = datetime(2027, 3, 1, 9, 0)


def rows() -> KpiRows:
    """Two exchanges of partnership A (one paid 4 days after validation), one of B still submitted."""
    at = lambda day, hour=9: datetime(2027, 3, day, hour)  # noqa: E731
    return KpiRows(
        exchanges=arrow_table("exchanges", [
            ["EX-1", "EX-2", "EX-3"], ["A", "A", "B"], ["C1"] * 3, ["exchange_visit", "conference_fair", "exchange_visit"],
            ["BE", "BE", "PL"], ["AT", "FR", None], ["sme", "sme", "cluster_organisation"], ["digital", "digital;health", ""],
            ["more_developed", "transition", None], ["less_developed", "transition", None], [5, 3, None], [T0, T0, T0]]),
        applications=arrow_table("applications", [[1, 2, 3], ["A", "A", "B"], ["visitor"] * 3, ["exchange_visit"] * 3,
                                                  ["sme"] * 3, ["BE", "BE", "PL"], ["digital", "", ""], [T0] * 3]),
        claims=arrow_table("claims", [["EX-1", "EX-2"], ["C1", "C1"], ["A", "A"], ["1100.00", "550.00"]]),
        calls=arrow_table("calls", [["C1"], ["5000.00"], ["A;B"]]),
        tasks=arrow_table("tasks", [["submit_evidence"], [None], ["EX-2"], [at(3)], [at(1)], [None]]),
        events=arrow_table("events", [
            [1, 2, 3, 4, 5, 6, 7], [at(2), at(3), at(4), at(6), at(10), at(2), at(5)],
            ["exchange_status", "task_completed", "budget_committed", "exchange_status", "payment_executed",
             "exchange_status", "budget_committed"],
            ["EX-1", "EX-1", "EX-1", "EX-1", "EX-1", "EX-2", "EX-2"], [None, "validate_evidence", None, None, None, None, None],
            ["awaiting_payment", None, None, "paid", None, "committed", None], [None, "accept", None, None, None, None, None]]))


def test_kpis_from_hand_made_rows() -> None:
    report = compute(rows(), datetime(2027, 4, 1), "2027-03")

    assert report.headline()["exchanges_by_status"] == {"committed": 1, "paid": 1, "submitted": 1}
    assert report.tables["budget"].rows == [("C1", "5000.00", "550.00", "1100.00", "3350.00")]
    assert report.tables["time_to_pay"].rows == [("EX-1", "2027-03-03 09:00:00", "2027-03-10 09:00:00", "7.00", True)]
    assert report.tables["region_pairs_summary"].rows == [(2, 1, "0.5000")]
    assert report.tables["overdue_tasks"].rows == [("A", "submit_evidence", 1, "28.63")]  # due 3 March 09:00: 28 days 15 hours
    assert report.tables["exchanges_by_sector"].rows == [("digital", "committed", 1), ("digital", "paid", 1),
                                                        ("health", "committed", 1), ("—", "submitted", 1)]
    stages = {r[0]: r[3] for r in report.tables["stage_durations"].rows}
    assert stages == {"submitted": "1.00", "awaiting_payment": "4.00"}  # EX-2's 'committed' has not ended
    b = compute(rows(), datetime(2027, 4, 1), "2027-03", "B")
    assert b.headline()["exchanges_by_status"] == {"submitted": 1} and b.headline()["paid_eur"] == "0.00"
    # B's figures count B's share of the call only; what is left is the call's, shared with A
    assert b.tables["budget"].rows == [("C1", "5000.00", "0.00", "0.00", "3350.00")]
    a = compute(rows(), datetime(2027, 4, 1), "2027-03", "A")
    assert a.tables["budget"].rows == [("C1", "5000.00", "550.00", "1100.00", "3350.00")]
    before = compute(rows(), datetime(2027, 3, 5), "2027-03")  # 5 March 00:00: EX-2 is committed at 09:00
    assert before.headline()["exchanges_by_status"] == {"awaiting_payment": 1, "committed": 1, "submitted": 1}
    assert before.headline()["committed_eur"] == "1100.00" and before.headline()["paid_eur"] == "0.00"


def test_charts_are_svg_without_script_and_spreadsheets_the_same_bytes_twice() -> None:
    table = compute(rows(), datetime(2027, 4, 1), "2027-03").tables["exchanges_by_country_pair"]
    svg = bar_chart_svg(table.title, table.columns, table.rows, *table.chart)
    assert svg.startswith("<svg") and "<script" not in svg and svg == bar_chart_svg(table.title, table.columns,
                                                                                     table.rows, *table.chart)
    assert chart_records(table.columns, table.rows, "country_pair", "exchanges", None)[0] == \
        {"country_pair": "BE → AT", "exchanges": 1.0}
    sheets = [Sheet("s", "T", ("k", "v"), [("a", "1.50"), ("b", "2.00")], ("k", "v", None))]
    book = workbook_bytes(sheets, T0, "t")
    assert book == workbook_bytes(sheets, T0, "t") and "xl/charts/chart1.xml" in zipfile.ZipFile(io.BytesIO(book)).namelist()


def test_the_zip_is_sorted_and_timeless_and_the_draw_follows_the_seed() -> None:
    one, two = zip_bytes({"b": b"2", "a": b"1"}), zip_bytes({"a": b"1", "b": b"2"})
    assert one == two and zipfile.ZipFile(io.BytesIO(one)).namelist() == ["a", "b"]
    flags = {f"EX-{i}": (["override"] if i == 3 else []) for i in range(10)}
    draw = sample(flags, 3, seed=9)
    assert draw == sample(flags, 3, seed=9)
    assert sum("random" in p["reasons"] for p in draw) == 3
    assert {"exchange": "EX-3", "reasons": ["override"]} in draw or {"exchange": "EX-3", "reasons": ["random", "override"]} in draw
    assert sample(flags, 0, seed=9) == [{"exchange": "EX-3", "reasons": ["override"]}]


def test_the_diagram_is_drawn_from_the_bpmn_coordinates_with_the_completed_path_coloured() -> None:
    xml = (Path(__file__).resolve().parents[2] / "bpmn" / "exchange.bpmn").read_text(encoding="utf-8")
    from lxml import etree

    svg = diagram_svg(xml, completed=["start"], active=[])
    assert svg.startswith("<svg") and svg.count(DONE) >= 1 and "<script" not in svg
    assert etree.fromstring(svg.encode()).tag == "{http://www.w3.org/2000/svg}svg"  # well-formed: names escaped
    assert diagram_svg(xml).count(DONE) == 0


def test_the_kpi_benchmark_agrees_with_duckdb_on_a_small_programme() -> None:
    from benchmarks.kpi import run

    result = run(2_000, rounds=1)
    assert result["events"] == 2_000 and result["exchanges"] == 100 and result["ours_s"] > 0
