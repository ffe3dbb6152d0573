"""What an App builds for every thread — its process library (every BPMN file parsed) and its engine —
and what the library parses on demand are built once, even when two threads ask at the same moment.

Each test lets two threads ask together; the builder waits (boundedly) for a second builder to arrive.
Built once, the second thread waits for the first instead, and the builder's wait simply runs out."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workflows.app import App
from workflows.settings import Settings

OVERLAP = 0.5  # seconds a builder waits for a second one; never reached when the build is guarded


def ask_together(ask: Callable[[], Any], threads: int = 2) -> list[Any]:
    start = threading.Barrier(threads)
    answers: list[Any] = []

    def run() -> None:
        start.wait(timeout=30)
        answers.append(ask())

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return answers


class Builds:
    """Counts builds; each waits a moment for a second build to start alongside it."""

    def __init__(self) -> None:
        self.count = 0
        self._two = threading.Barrier(2)

    def one(self) -> None:
        self.count += 1
        try:
            self._two.wait(timeout=OVERLAP)
        except threading.BrokenBarrierError:
            pass


@pytest.fixture
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    application = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    yield application
    application.close()


def test_two_threads_asking_for_the_library_at_once_get_the_same_one_built_once(app: App, monkeypatch) -> None:
    from workflows.engine import library

    builds = Builds()

    class CountedLibrary(library.ProcessLibrary):
        def __init__(self) -> None:
            builds.one()
            super().__init__()

    monkeypatch.setattr(library, "ProcessLibrary", CountedLibrary)
    answers = ask_together(lambda: app.library)
    assert builds.count == 1
    assert len(answers) == 2 and answers[0] is answers[1] is app.library


def test_the_engine_is_built_once_and_runs_on_the_apps_library(app: App) -> None:
    engines = ask_together(lambda: app.engine, threads=4)
    assert len({id(engine) for engine in engines}) == 1
    assert engines[0].library is app.library


def test_two_threads_restoring_the_same_definition_parse_it_once(database_url: str, tmp_path: Path,
                                                                 monkeypatch) -> None:
    from workflows.engine import library
    from workflows.services.setup import init_database

    application = App(Settings(database_url=database_url, files_dir=tmp_path / "files"))
    try:
        init_database(application)
        with application.uow() as uow:
            definition_id = application.library.current(uow, "exchange").id
        fresh = library.ProcessLibrary()  # as in another process: it has parsed nothing yet
        builds = Builds()
        parse = library._parse

        def counted_parse(xml: bytes, filename: str) -> Any:
            builds.one()
            return parse(xml, filename)

        monkeypatch.setattr(library, "_parse", counted_parse)

        def restore() -> Any:
            with application.uow() as uow:
                return fresh.by_id(uow, definition_id)

        found = ask_together(restore)
        assert builds.count == 1
        assert len(found) == 2 and found[0] is found[1]
    finally:
        application.close()
