"""The audit anchors name the database they belong to (issue 18, point 9): `cxp init` gives each
database an id (a `database_identified` event on its global chain), every anchor line carries it, and
verify says in words which case it met — another database's anchors, a database older than its
anchors (a restored backup), anchors kept elsewhere — instead of calling each one tampering."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.workflows.builders import Programme, programme  # noqa: F401
from workflows.app import App
from workflows.db.process_models import AuditEvent
from workflows.services.audit_trail import IDENTIFIED, verify_trail
from workflows.services.setup import init_database
from workflows.settings import Settings


def other_app(tmp_path: Path, name: str, files: Path) -> App:
    """A second initialised SQLite database whose files folder is `files`."""
    other = App(Settings(database_url=f"sqlite:///{tmp_path}/{name}.db", files_dir=files))
    init_database(other)
    return other


def test_init_gives_the_database_an_id_once_and_every_anchor_line_carries_it(app: App) -> None:
    init_database(app)  # again: the id stays
    with app.uow() as uow:
        ids = [e.data_after["database_id"] for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == IDENTIFIED))]
    assert len(ids) == 1 and len(ids[0]) == 32
    assert verify_trail(app)["ok"]
    assert json.loads(app.settings.anchor_path.read_text().splitlines()[0])["db"] == ids[0]


def test_two_databases_sharing_a_files_folder_are_told_apart_not_called_tampered(app: App, tmp_path: Path) -> None:
    assert verify_trail(app)["ok"]
    second = other_app(tmp_path, "second", app.settings.files_dir)
    try:
        result = verify_trail(second)
        assert (result["ok"], result["case"], result["first_bad_event"]) == (False, "another_database", None)
        assert "holds the anchors of another database" in result["problem"]
        assert "no sign of tampering" in result["problem"] and "CXP_FILES_DIR" in result["problem"]
        assert "anchor" not in result and len(second.settings.anchor_path.read_text().splitlines()) == 1
    finally:
        second.close()
    assert verify_trail(app)["case"] == "intact"


def test_a_database_whose_anchors_are_kept_elsewhere_says_so(app: App, tmp_path: Path) -> None:
    assert verify_trail(app)["ok"]
    moved = App(app.settings.model_copy(update={"files_dir": tmp_path / "elsewhere"}))
    try:
        result = verify_trail(moved)
    finally:
        moved.close()
    assert (result["ok"], result["case"]) == (False, "anchors_elsewhere")
    assert "this database recorded 1 anchors" in result["problem"] and "kept elsewhere" in result["problem"]


def test_a_restored_backup_is_named_as_older_than_its_anchors(programme: Programme, tmp_path: Path) -> None:  # noqa: F811
    app = programme.app
    if app.db.dialect.name != "sqlite":
        pytest.skip("a file copy of the database is a SQLite backup")
    path = Path(app.db.url.database)
    assert verify_trail(app)["ok"]
    backup = tmp_path / "backup.db"
    with sqlite3.connect(path) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)
    programme.submit_visitor_application().assessed()
    assert verify_trail(app)["ok"] and verify_trail(app)["ok"]
    restored = App(app.settings.model_copy(update={"database_url": f"sqlite:///{backup}"}))
    try:
        result = verify_trail(restored)
    finally:
        restored.close()
    assert (result["ok"], result["case"]) == (False, "older_database")
    assert result["problem"].startswith("this database is older than its anchors: its newest anchor is anchor 1 (")
    assert "goes on to anchor 3" in result["problem"] and "a restored backup?" in result["problem"]
