"""The web workspace: server-rendered pages (Jinja2, htmx) over the same use cases as the API.
One module per area; each route parses, calls one use case, renders a template."""
from __future__ import annotations

from fastapi import APIRouter


def routes() -> list[APIRouter]:
    """Every router of the pages."""
    from workflows.web.pages import (
        admin,
        admin_call_actions,
        admin_calls,
        admin_programme,
        audit,
        auth,
        exchanges,
        instances,
        my,
        payments,
        public,
        register,
        reports,
        tasks,
        work_task,
    )
    from workflows.web.pages import exchange_actions as exchange_action_pages
    from workflows.web.pages import processes as processes_pages
    from workflows.web.pages import report_files as report_file_pages

    return [auth.router, tasks.router, work_task.router, instances.router, exchanges.router, payments.router,
            audit.router, reports.router, admin.router,
            processes_pages.router, exchange_action_pages.router, report_file_pages.router,
            admin_calls.router, admin_call_actions.router, admin_programme.router, my.router, register.router,
            public.router]
