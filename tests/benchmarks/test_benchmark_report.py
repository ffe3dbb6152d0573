"""The benchmark report's growth figures (ENGINEERING: how each figure grows from 1x to 10x the data)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import growth
from benchmarks.lifecycle import engine_persisted_in


def _linear(n: int) -> dict[str, Any]:
    return {"seconds": 0.01 * n}


def _quadratic(n: int) -> dict[str, Any]:
    return {"seconds": 0.001 * n * n}


def test_growth_reports_time_per_item_and_memory_from_small_to_large() -> None:
    linear = growth(_linear, "items", "seconds", 2, 20)
    assert linear["1x"]["items"] == 2 and linear["10x"]["items"] == 20
    assert linear["per_item_ratio"] == 1.0 and linear["linear_or_better"] is True
    assert linear["1x"]["peak_rss_mb"] > 0 and "peak_rss_ratio" in linear
    quadratic = growth(_quadratic, "items", "seconds", 2, 20)
    assert quadratic["per_item_ratio"] == 10.0 and quadratic["linear_or_better"] is False


def test_growth_reuses_a_large_run_already_measured() -> None:
    reused = growth(_linear, "items", "seconds", 2, 20, large_result={"seconds": 0.8, "peak_rss_mb": 50.0})
    assert reused["10x"]["seconds"] == 0.8 and reused["per_item_ratio"] == 4.0  # 0.04 s against 0.01 s an item


def test_growth_names_a_failed_run_instead_of_a_ratio() -> None:
    failed = growth(_linear, "items", "seconds", 2, 20, large_result={"error": "ValueError: boom"})
    assert "per_item_ratio" not in failed and failed["errors"] == ["ValueError: boom"]


def test_the_engine_growth_run_uses_its_own_database(tmp_path: Path) -> None:
    assert engine_persisted_in(2, str(tmp_path))["exchanges"] == 2
    assert (tmp_path / "growth-2.db").exists()


def _dies(n: int) -> dict[str, Any]:
    import os

    os._exit(3)  # as a process killed or unable to start would: no result, no exception


def test_a_measuring_process_that_dies_is_reported_not_waited_for() -> None:
    from benchmarks.isolation import isolated

    assert isolated(_dies, 1) == {"error": "the measuring process ended (exit code 3) without a result"}
    assert isolated(_linear, 3)["seconds"] == 0.03


def test_the_inbox_benchmark_reads_the_same_page_both_ways(database_url: str) -> None:
    from benchmarks.inbox import measure

    result = measure(database_url, 2000, calls=3)  # it asserts that ours and the raw query give the same page
    assert (result["open_tasks"], result["page"]) == (2000, 50)
    assert result["ours_ms"] > 0 and result["raw_ms"] > 0
    assert result["ratio"] == pytest.approx(result["ours_ms"] / result["raw_ms"], rel=0.02)
