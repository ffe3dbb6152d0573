"""The lifecycle benchmark's runs reach the end of the process (a smoke run: figures are the benchmark's
business, not the tests')."""
from __future__ import annotations

from pathlib import Path

from benchmarks.lifecycle import engine_persisted, in_memory, persisted


def test_the_in_memory_baseline_closes_every_exchange() -> None:
    assert in_memory(2)["exchanges"] == 2  # it asserts each instance completed


def test_the_engine_persisted_run_closes_every_exchange(database_url: str, tmp_path: Path) -> None:
    assert engine_persisted(database_url, 2, tmp_path / "files")["exchanges"] == 2


def test_the_product_run_closes_every_exchange_with_an_intact_audit_chain(database_url: str, tmp_path: Path) -> None:
    result = persisted(database_url, 2, tmp_path / "files")
    assert (result["closed"], result["audit_ok"]) == (2, True)
