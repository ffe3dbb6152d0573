"""The scheduled jobs as plain functions: the same service calls the Prefect flows make.

The database and the files folder come from the settings (`CXP_DATABASE_URL`, `CXP_FILES_DIR`), read
afresh for each run so that a long-running `cxp flows serve` picks up the environment it was given.
"""
from __future__ import annotations

from typing import Any

from workflows.app import App
from workflows.settings import Settings

_apps: dict[str, App] = {}


def current_app() -> App:
    """One App (engine, sessions) per configuration, kept for the life of the process."""
    settings = Settings()
    key = settings.model_dump_json()
    if key not in _apps:
        _apps[key] = App(settings)
    return _apps[key]


def payment_batch(app: App, partnership: str | None = None) -> dict[str, Any]:
    from workflows.services.payments import run_payment_batches

    return run_payment_batches(app, partnership)


def kpi_report(app: App, partnership: str | None = None) -> dict[str, Any]:
    from workflows.services.reporting import kpi_report as report

    return report(app, partnership=partnership)


def timers(app: App) -> dict[str, Any]:
    from workflows.services.calls import release_orphaned_reservations
    from workflows.services.deadlines import chase_tasks
    from workflows.services.lifecycle import fire_due_timers
    from workflows.services.throttle import sweep_attempts

    swept = sweep_attempts(app)  # usernames not tried for a day: their sign-in counts go
    return {"timers_fired": fire_due_timers(app), **chase_tasks(app), "sign_in_counts_removed": swept.removed,
            "budget_reservations_released": release_orphaned_reservations(app)}


def outbox(app: App) -> dict[str, Any]:
    from workflows.services.evidence_store import sweep_evidence
    from workflows.services.outbox_delivery import deliver_pending
    from workflows.services.payment_files import recover_files

    recovered = recover_files(app)  # the batch emails attach files that a crash may have left unwritten
    swept = sweep_evidence(app)  # and uploads killed half-way left files nobody recorded
    return {**deliver_pending(app), "recovered_files": recovered, "swept_evidence": swept.model_dump()}


def run_job(name: str, app: App, partnership: str | None = None) -> dict[str, Any]:
    """Run one job now, in this process, without Prefect."""
    if name == "payment-batch":
        return payment_batch(app, partnership)
    if name == "kpi-report":
        return kpi_report(app, partnership)
    if name == "timers":
        return timers(app)
    if name == "outbox":
        return outbox(app)
    raise KeyError(name)
