"""The public pages' benchmark at a tiny size: /calls, /offers and their JSON each measured next to the
service call in the same run, on the offers it seeded (no timing is asserted)."""
from __future__ import annotations

from benchmarks.applications import public_pages


def test_the_public_pages_benchmark_reports_each_page_next_to_its_service_call() -> None:
    report = public_pages(offers=30, n=2)
    assert report["offers"] == 31  # the seeded ones and the benchmark programme's own host offer
    for name in ("calls_page", "calls_api", "calls_service", "offers_page", "offers_api", "offers_service",
                 "offers_filtered_page", "offers_filtered_service"):
        assert report[name]["calls"] == 2 and report[name]["p50_ms"] > 0 and report[name]["p95_ms"] > 0, name
    ratios = report["ratio_p50"]
    assert ratios["offers_page_to_service"] == round(report["offers_page"]["p50_ms"] / report["offers_service"]["p50_ms"], 2)
