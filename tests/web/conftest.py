"""The pages are tested on SQLite only: what they read and change goes through the use cases, which
tests/workflows and the API tests (tests/e2e/api) run on SQLite and PostgreSQL (ENGINEERING.md, Tests)."""
from __future__ import annotations

import pytest


@pytest.fixture
def database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh SQLite file (this folder's override of tests/conftest.py's two-database fixture)."""
    return f"sqlite:///{tmp_path}/cxp.db"
