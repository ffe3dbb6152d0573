"""One Prefect test server for the whole test session (it takes 15-30 s to start), with its home in a
temporary folder and analytics off; only the few tests that run real flows ask for it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a temporary Prefect API that every flow run of the session reports to."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
        env.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env.setenv("DO_NOT_TRACK", "1")
        env.setenv("PREFECT_LOGGING_LEVEL", "WARNING")
        from prefect.settings import PREFECT_API_URL
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=90):
            yield PREFECT_API_URL.value()
