"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL when it answers)."""
from __future__ import annotations

import os
import uuid

import pytest

# Every instance state the engine saves incrementally is compared with a full serialization
# (workflows/engine/spiff.py), here and in the CLI processes the end-to-end tests start.
os.environ["CXP_VERIFY_STATE"] = "1"

PRODUCT_HASHER: list = []  # the product's own `accounts.hasher`, for the test of its parameters


def _cheap_password_hashing() -> None:
    """In this test process accounts are hashed with argon2id at its cheapest (1 MiB, one pass) instead of
    pwdlib's recommended 64 MiB and three passes: the suite makes hundreds of accounts and sign-ins, 0.12 s
    each otherwise. The product has no such switch; the CLI and servers the tests start as processes hash
    as in production, and tests/workflows/test_accounts.py checks the recommended parameters."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from workflows.services import accounts

    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    PRODUCT_HASHER.append(accounts.hasher)
    accounts.hasher = lambda: cheap  # type: ignore[assignment]


_cheap_password_hashing()

POSTGRES_URL = os.environ.get("CXP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, object] = {}


def _postgres_admin_engine():  # type: ignore[no-untyped-def]
    """An engine on the server's maintenance DB, or None (with the reason remembered) when none answers."""
    if "engine" in _pg_state or "error" in _pg_state:
        return _pg_state.get("engine")
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        _pg_state["engine"] = engine
    except Exception as err:  # no server, wrong URL, no driver
        _pg_state["error"] = f"PostgreSQL does not answer at {POSTGRES_URL}: {type(err).__name__}"
    return _pg_state.get("engine")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cxp.db"
    return fresh_postgres_url(request)


def fresh_postgres_url(request: pytest.FixtureRequest) -> str:
    """A new, empty PostgreSQL database dropped when `request`'s fixture ends (skips without a server)."""
    admin = _postgres_admin_engine()
    if admin is None:
        pytest.skip(str(_pg_state["error"]))
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"cxp_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    request.addfinalizer(lambda: _drop(admin, name))
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _drop(admin, name: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def app(database_url: str, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """An initialised application (schema, rule sets, processes) on a fresh database."""
    monkeypatch.setenv("CXP_FILES_DIR", str(tmp_path / "files"))
    from workflows.app import App
    from workflows.services.setup import init_database
    from workflows.settings import Settings

    application = App(Settings(database_url=database_url, files_dir=tmp_path / "files"))
    init_database(application)
    yield application
    application.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tests run last: Playwright's sync API keeps an asyncio loop running in the main
    thread while its (session-wide) browser is open, and `asyncio.run` in any later test — the mail,
    the Prefect flows — would then refuse to start."""
    browser = [item for item in items if "/tests/e2e/browser/" in str(item.path).replace("\\", "/")]
    if browser:
        keep = set(map(id, browser))
        items[:] = [item for item in items if id(item) not in keep] + browser
