"""The files of a KPI report: an HTML page with static SVG charts, an XLSX workbook with a sheet per
KPI and native charts, and one CSV file per KPI (also zipped, for mailing). Bytes only: the service
writes them. The timestamp inside the files is the report's `as_of`, so the same data gives the same
bytes."""
from __future__ import annotations

from importlib import resources
from typing import Any

from reports.archive import zip_bytes
from reports.kpi import PAY_TARGET_DAYS, KpiReport
from reports.xlsx import Sheet, csv_bytes, workbook_bytes

HTML_ROWS = 40


def base_name(report: KpiReport) -> str:
    return f"kpi-{report.period}-{report.scope}"


def render_html(report: KpiReport) -> bytes:
    """The report page: headline figures, then each KPI with its chart (inline SVG) and its table."""
    from jinja2 import Environment

    from reports.charts import bar_chart_svg
    from reports.labels import is_share, percent

    sections = []
    for table in report.tables.values():
        svg = bar_chart_svg(table.title, table.columns, table.rows, *table.chart) if table.chart and table.rows else None
        shares = [i for i, column in enumerate(table.columns) if is_share(column)]
        rows = [tuple(percent(v) if i in shares else v for i, v in enumerate(row)) for row in table.rows[:HTML_ROWS]]
        sections.append({"name": table.name, "title": table.title, "columns": table.columns, "svg": svg,
                         "rows": rows, "more": max(0, len(table.rows) - HTML_ROWS)})
    source = resources.files("reports").joinpath("templates/kpi.html.j2").read_text(encoding="utf-8")
    environment = Environment(autoescape=True, keep_trailing_newline=True)
    environment.filters["percent"] = percent
    template = environment.from_string(source)
    headline = report.headline()
    return template.render(
        period=report.period, scope=report.scope, as_of=report.as_of.isoformat(" ", "seconds"),
        scope_title="the whole programme" if report.scope == "programme" else f"partnership {report.scope}",
        headline=headline, exchanges_total=sum(headline["exchanges_by_status"].values()),
        target_days=PAY_TARGET_DAYS, sections=sections).encode("utf-8")


def sheets(report: KpiReport) -> list[Sheet]:
    return [Sheet(t.name, t.title, t.columns, t.rows, t.chart) for t in report.tables.values()]


def render_files(report: KpiReport) -> dict[str, bytes]:
    """File name (relative to the report folder) → content."""
    base = base_name(report)
    csvs = {f"{base}/{t.name}.csv": csv_bytes(t.columns, t.rows) for t in report.tables.values()}
    files: dict[str, Any] = {
        f"{base}.html": render_html(report),
        f"{base}.xlsx": workbook_bytes(sheets(report), report.as_of, f"ClusterXchange KPIs {report.period} {report.scope}"),
        **csvs,
        f"{base}-csv.zip": zip_bytes({name.split("/", 1)[1]: data for name, data in csvs.items()}),
    }
    return files
