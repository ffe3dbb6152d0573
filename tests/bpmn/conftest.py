import pytest

from tests.bpmn.harness import Clock


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """A clock starting on Monday 3 March 2025, 09:00 UTC, seen by SpiffWorkflow's timers."""
    c = Clock()
    c.install(monkeypatch)
    return c
