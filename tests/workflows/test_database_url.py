"""Which database, and where its files go: a URL that cannot be used is one sentence (malformed, an
unknown driver, a SQLite file that does not exist when it may not be created, no server, no such
database); only a caller that may create a database creates its file; the files folder is absolute,
set by the settings — next to a SQLite file, else under XDG_DATA_HOME — never the current folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from workflows.app import App
from workflows.db.base import DatabaseUnavailable, check_connection, make_engine
from workflows.settings import Settings


def test_a_missing_sqlite_file_is_refused_and_neither_it_nor_its_folder_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/x.db"
    with pytest.raises(DatabaseUnavailable) as caught:
        make_engine(url, create=False)
    assert str(caught.value) == f"{url} does not exist; run cxp init --db {url} first"
    assert list(tmp_path.iterdir()) == []
    engine = make_engine(url)  # create=True: init and demo
    engine.dispose()
    assert (tmp_path / "var" / "x.db").is_file()
    make_engine(url, create=False).dispose()


@pytest.mark.parametrize(("url", "start"), [
    ("sqlite//x", "'sqlite//x' is not a database URL (examples: sqlite:///var/cxp.db, "
                  "postgresql+psycopg://user@host/db)"),
    ("", "'' is not a database URL"),
    ("foo://x/y", "'foo://x/y' names the database driver 'foo', which ClusterXchange does not run on"),
    ("mysql://u@h/d", "'mysql://u@h/d' names the database driver 'mysql'"),
])
def test_a_url_that_is_no_database_of_ours_is_one_sentence(url: str, start: str) -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        make_engine(url)
    assert str(caught.value).startswith(start) and "\n" not in str(caught.value)


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("not a database", encoding="utf-8")
    with pytest.raises(DatabaseUnavailable, match="notes.db is not a SQLite database file"):
        make_engine(f"sqlite:///{tmp_path}/notes.db", create=False)


def test_no_server_and_no_such_database_are_named() -> None:
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL, _pg_state, _postgres_admin_engine

    refused = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/cxp")  # port 9 (discard): nobody listens
    with pytest.raises(DatabaseUnavailable) as caught:
        check_connection(refused)
    assert str(caught.value).startswith("no database server answers at 127.0.0.1:9 (")
    if _postgres_admin_engine() is None:
        pytest.skip(str(_pg_state["error"]))
    missing = make_engine(make_url(POSTGRES_URL).set(database="cxp_no_such_db").render_as_string(False))
    with pytest.raises(DatabaseUnavailable) as caught:
        check_connection(missing)
    assert str(caught.value).startswith("database 'cxp_no_such_db' does not exist on the server at ")
    assert str(caught.value).endswith("create it (createdb cxp_no_such_db), then run cxp init")


# ---- the files folder ------------------------------------------------------------------------------
@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current folder of its own, and no files folder from the environment."""
    monkeypatch.delenv("CXP_FILES_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


def test_the_files_folder_of_a_sqlite_database_is_next_to_its_file_named_after_it(elsewhere: Path) -> None:
    assert Settings(database_url="sqlite:///var/demo.db").files_dir == elsewhere / "cwd" / "var" / "demo.files"
    assert Settings(database_url=f"sqlite:///{elsewhere}/db/cxp.db").files_dir == elsewhere / "db" / "cxp.files"
    # two databases in one folder: two files folders, two anchor files (issue 18, point 9)
    assert Settings(database_url=f"sqlite:///{elsewhere}/db/other.db").files_dir == elsewhere / "db" / "other.files"


def test_the_files_folder_of_a_server_database_is_under_xdg_data_home_named_after_it(elsewhere: Path) -> None:
    settings = Settings(database_url="postgresql+psycopg://u@db.example/cxp")
    assert settings.files_dir == elsewhere / "data-home" / "clusterxchange" / "db.example-default-cxp"
    other = Settings(database_url="postgresql+psycopg://u@db.example:5433/cxp_test")
    assert other.files_dir == elsewhere / "data-home" / "clusterxchange" / "db.example-5433-cxp_test"


def test_an_explicit_files_folder_is_made_absolute_once(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXP_FILES_DIR", "shared/files")
    settings = Settings(database_url="sqlite:///var/demo.db")
    assert settings.files_dir == elsewhere / "cwd" / "shared" / "files"
    monkeypatch.chdir(elsewhere)
    assert settings.with_database("sqlite:///other/x.db").files_dir == elsewhere / "cwd" / "shared" / "files"


def test_a_default_files_folder_follows_the_database_given_to_the_app(elsewhere: Path) -> None:
    base = Settings(database_url=f"sqlite:///{elsewhere}/a/cxp.db")
    app = App(base, database_url=f"sqlite:///{elsewhere}/b/cxp.db")
    try:
        assert app.settings.files_dir == elsewhere / "b" / "cxp.files"
    finally:
        app.close()
    assert base.files_dir == elsewhere / "a" / "cxp.files"


def test_an_unknown_mode_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="'prod' is not a mode"):
        Settings(mode="prod")
