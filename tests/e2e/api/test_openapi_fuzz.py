"""schemathesis against /openapi.json, in process (ASGI), signed in as an administrator (who reaches
the most code: every partnership's records, most actions): no answer is a 5xx, every status is one the
document declares for the operation, and every JSON answer matches its declared schema. Bounded:
a few examples per operation, no deadline (SQLite only: the PostgreSQL paths are the same routes).
Then a bounded stateful run: sequences of calls chained by the links schemathesis infers, later calls
fed with the ids earlier answers returned (tests/e2e/api/test_openapi_stateful.py replays them across
partnerships)."""
from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.api.conftest import World  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only, for this module (it overrides the SQLite-and-PostgreSQL fixture of the conftest)."""
    return f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/cxp.db"


@pytest.fixture(scope="module")
def api_schema(world: World) -> Any:
    from workflows.web.app import create_app

    loaded = schemathesis.openapi.from_asgi("/openapi.json", create_app(application=world.app))
    # Not fuzzed: POST /api/auth/token. Every attempt runs argon2 (slow on purpose) and each failure
    # slows down or locks the account, so its answer (401 or 429) depends on the attempts before it,
    # not on the request; tests/e2e/api/test_answers.py tests it, its rate limit included.
    return loaded.exclude(path="/api/auth/token")


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation the API documents, from its routers (no database needed)."""
    from fastapi import FastAPI

    from workflows.web.api import routes

    bare = FastAPI()
    for router in routes():
        bare.include_router(router, prefix="/api")
    return [(method.upper(), path) for path, item in bare.openapi()["paths"].items() for method in item
            if path != "/api/auth/token"]


# schemathesis' own pytest integration (`schemathesis.pytest.from_fixture`) reads a private attribute
# pytest 9 no longer has; each operation's Hypothesis strategy, driven by `given`, is the same test.
@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: v)
def test_every_documented_answer_is_declared_and_none_is_a_server_error(api_schema: Any, world: World,
                                                                        method: str, path: str) -> None:
    from hypothesis import given
    from schemathesis import GenerationMode

    operation = api_schema[path][method]
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=cases)
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def answer_is_documented(case: Any) -> None:
        response = case.call(headers=world.headers("admin"))
        case.validate_response(response, checks=CHECKS)

    answer_is_documented()


# Stateful: sequences of calls chained by the links schemathesis infers from the document (a task's
# instance, a batch's files, …), the later calls fed with ids the earlier answers returned. Bounded
# (30 sequences of at most 6 calls, derandomised: about 7 s here), so that CI runs it in well under a minute.
def test_chained_calls_answer_as_documented_and_none_is_a_server_error(api_schema: Any, world: World) -> None:
    from hypothesis import HealthCheck, Phase
    from hypothesis import settings as run_settings

    # Not chained: the public reads (tag "public"; each is fuzzed above). What they list depends on the
    # state other sequences leave (a call closed by one is gone from GET /api/calls in the next), so
    # links from them make Hypothesis' replay of a sequence draw differently (FlakyStrategyDefinition);
    # the administration's reads link to the same codes and ids whatever their state.
    machine = api_schema.exclude(tag="public").as_state_machine()
    assert machine.bundles, "schemathesis found no links between the operations: nothing would be chained"

    class AsAdministrator(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": world.headers("admin")}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    AsAdministrator.run(settings=run_settings(max_examples=30, stateful_step_count=6, deadline=None, derandomize=True,
                                              database=None, phases=[Phase.generate],
                                              suppress_health_check=list(HealthCheck)))
