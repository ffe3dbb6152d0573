"""Static SVG charts (Vega-Lite rendered by vl-convert): no JavaScript, so they show in mail clients and
in files opened offline. The same table gives the same SVG."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

MAX_BARS = 30


def _number(value: Any) -> float:
    return float(Decimal(str(value))) if value is not None else 0.0


def chart_records(columns: Sequence[str], rows: Sequence[Sequence[Any]], x: str, value: str,
                  colour: str | None) -> list[dict[str, Any]]:
    """The rows a chart draws: the value summed by (x, colour), the largest `MAX_BARS` categories of x."""
    ix, iv = columns.index(x), columns.index(value)
    ic = columns.index(colour) if colour else None
    sums: dict[tuple[str, str], float] = {}
    totals: dict[str, float] = {}
    for row in rows:
        key = (str(row[ix]), str(row[ic]) if ic is not None else "")
        sums[key] = sums.get(key, 0.0) + _number(row[iv])
        totals[key[0]] = totals.get(key[0], 0.0) + _number(row[iv])
    kept = set(sorted(totals, key=lambda k: (-totals[k], k))[:MAX_BARS])
    return [{x: k, value: v, **({colour: c} if colour else {})} for (k, c), v in sorted(sums.items()) if k in kept]


def bar_chart_svg(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], x: str, value: str,
                  colour: str | None = None) -> str:
    """A bar chart of `value` by `x` (stacked by `colour`) as an SVG document."""
    import altair as alt
    import vl_convert as vlc

    records = chart_records(columns, rows, x, value, colour)
    encoding: dict[str, Any] = {
        "y": alt.Y(f"{x}:N", sort=None, title=x.replace("_", " ")),
        "x": alt.X(f"sum({value}):Q", title=value.replace("_", " ")),
    }
    if colour:
        encoding["color"] = alt.Color(f"{colour}:N", title=colour.replace("_", " "))
    # altair's Data takes untyped **kwds; its typed InlineData writes a named dataset instead (other bytes)
    data = alt.Data(values=records)  # type: ignore[no-untyped-call]
    chart = alt.Chart(data, title=title).mark_bar().encode(**encoding).properties(width=420)
    return vlc.vegalite_to_svg(chart.to_json())
