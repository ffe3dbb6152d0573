"""The lifecycle benchmark's runs reach the end of the process (a smoke run: figures are the benchmark's
business, not the tests')."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.lifecycle import EnginePersisted, engine_persisted, in_memory, interleaved, naive_interleaved, persisted


def test_the_in_memory_baseline_closes_every_exchange() -> None:
    assert in_memory(2)["exchanges"] == 2  # it asserts each instance completed


def test_the_engine_persisted_run_closes_every_exchange(database_url: str, tmp_path: Path) -> None:
    assert engine_persisted(database_url, 2, tmp_path / "files")["exchanges"] == 2


def test_the_product_run_closes_every_exchange_with_an_intact_audit_chain(database_url: str, tmp_path: Path) -> None:
    result = persisted(database_url, 2, tmp_path / "files")
    assert (result["closed"], result["audit_ok"]) == (2, True)


def test_the_interleaved_run_times_both_sides_and_closes_every_exchange(database_url: str, tmp_path: Path) -> None:
    result = interleaved(database_url, 3, tmp_path / "files", chunk=2)
    assert result["exchanges"] == 3 and result["per_second"] > 0 and result["in_memory_per_second"] > 0
    assert result["ratio_to_in_memory"] == pytest.approx(result["per_second"] / result["in_memory_per_second"], rel=0.05)


def test_an_exchange_left_unfinished_fails_the_persisted_run(tmp_path: Path) -> None:
    runner = EnginePersisted(f"sqlite:///{tmp_path}/bench.db", tmp_path / "files")
    runner.run(1)
    with runner.app.uow() as uow:  # one more exchange, started but never driven
        runner.started.append(runner.engine.start(uow, "exchange", "exchange", 2, {**runner.data, "exchange_id": 2})
                              .instance.id)
        uow.commit()
    with pytest.raises(AssertionError, match="did not reach the end"):
        runner.close()


def test_the_naive_reference_run_closes_every_exchange(tmp_path: Path) -> None:
    result = naive_interleaved(f"sqlite:///{tmp_path}/naive.db", 2, chunk=1)
    assert result["exchanges"] == 2 and result["ratio_to_in_memory"] > 0  # it asserts each instance completed
