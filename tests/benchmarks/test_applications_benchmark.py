"""The applications benchmark at a tiny size: POST /api/applications and its service call both measured
(each call a real eligible submission), the ratios computed from them (no timing is asserted)."""
from __future__ import annotations

import pytest

from benchmarks.applications import run


def test_the_applications_benchmark_reports_the_api_next_to_the_service() -> None:
    report = run(3)
    for side in ("api", "service"):
        assert report[side]["calls"] == 3 and report[side]["p50_ms"] > 0 and report[side]["p95_ms"] > 0
    assert report["ratio_p50"] == pytest.approx(report["api"]["p50_ms"] / report["service"]["p50_ms"], rel=0.01)
    assert report["server_peak_rss_mb"] is None or report["server_peak_rss_mb"] > 0
