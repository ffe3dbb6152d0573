"""The HTTP API of SPEC §10, one module per area; each route parses, calls one use case, shapes the
answer. Permission checks live in workflows.services.access, error answers in workflows.web.errors."""
from __future__ import annotations

from fastapi import APIRouter


def routes() -> list[APIRouter]:
    """Every router of the API, in the order the OpenAPI document lists them."""
    from workflows.web.api import admin as admin_api
    from workflows.web.api import applications as applications_api
    from workflows.web.api import audit, auth, evidence, exchanges, health, instances, payments, reports, tasks, users
    from workflows.web.api import calls as calls_api
    from workflows.web.api import exchange_actions as exchange_actions_api
    from workflows.web.api import incidents as incidents_api
    from workflows.web.api import process_versions as versions_api
    from workflows.web.api import public as public_api
    from workflows.web.api import registrations as registrations_api
    from workflows.web.api import rule_sets as rule_sets_api

    return [health.router, auth.router, tasks.router, instances.router, exchanges.router,
            evidence.router, exchange_actions_api.router, incidents_api.router, payments.router, audit.router, reports.router,
            versions_api.router, users.router,
            calls_api.router, admin_api.router, rule_sets_api.router,
            applications_api.router, registrations_api.router,
            # the public reads (GET /api/calls, /api/calls/{code}, /api/offers): the same paths as the
            # administration's POST /api/calls and PATCH /api/calls/{code} (calls_api), other methods
            public_api.router]
