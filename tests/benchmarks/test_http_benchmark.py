"""The HTTP benchmark at a tiny size: every figure of its JSON present, the ratios computed from them
(no timing is asserted: the machine's speed is not the test's)."""
from __future__ import annotations

from typing import Any

import pytest

from benchmarks.__main__ import http_growth, http_section

LATENCY = {"calls", "p50_ms", "p95_ms", "mean_ms"}
CONCURRENT = LATENCY | {"clients", "seconds", "per_second"}


def _page(figures: dict[str, Any], diagram: bool) -> None:
    if figures.get("status") == "pages not available":
        assert figures["answered"] == 404
        return
    assert set(figures["server"]["single"]) >= LATENCY and set(figures["server"]["concurrent"]) >= CONCURRENT
    assert figures["api_alone"]["p50_ms"] > 0
    assert figures["ratio_to_api"] == pytest.approx(
        figures["server"]["single"]["p50_ms"] / figures["api_alone"]["p50_ms"], rel=0.02)
    browser = figures["browser"]
    if "status" not in browser:  # chromium present
        assert browser["load_ms_p50"] > 0 and browser["dom_content_loaded_ms_p50"] > 0
        assert (browser["diagram_states"] == ["ready"]) if diagram else ("diagram_states" not in browser)


def test_the_http_section_reports_api_service_and_pages_with_their_ratios() -> None:
    report = http_section(300, max_requests=20, max_seconds=5, page_reps=2, browser_reps=1)
    assert "error" not in report, report.get("traceback")
    inbox = report["api_inbox"]
    for side in ("api", "service"):
        assert set(inbox[side]["single"]) >= LATENCY and set(inbox[side]["concurrent"]) >= CONCURRENT
        assert inbox[side]["concurrent"]["clients"] == 20 and inbox[side]["concurrent"]["calls"] <= 20
    assert inbox["ratio"] == pytest.approx(inbox["api"]["single"]["p50_ms"] / inbox["service"]["single"]["p50_ms"],
                                           rel=0.02)
    assert inbox["ratio_concurrent"] == pytest.approx(
        inbox["api"]["concurrent"]["p50_ms"] / inbox["service"]["concurrent"]["p50_ms"], rel=0.02)
    assert inbox["ratio_throughput"] > 0 and inbox["target_ratio"] == 2 and inbox["page"] == 50
    assert report["ratio"] == inbox["ratio"] and report["open_tasks"] == 300 and report["history_events"] > 0
    assert report["server_peak_rss_mb"] >= inbox["server_peak_rss_mb"] > 0 and report["peak_rss_mb"] > 0
    _page(report["pages"]["inbox"], diagram=False)
    _page(report["pages"]["instance"], diagram=True)

    grown = http_growth(300, report)
    assert (grown["1x"]["open_tasks"], grown["10x"]["open_tasks"]) == (30, 300)
    assert grown["p50_ratio"] == pytest.approx(grown["10x"]["api_p50_ms"] / grown["1x"]["api_p50_ms"], rel=0.02)
    assert grown["1x"]["server_peak_rss_mb"] > 0 and "linear_or_better" in grown
