"""The Prefect 3 flows of SPEC §6 and their schedules.

Flows are thin: each is a handful of task runs calling the same service functions as the CLI — the
payment batch of 10,000 claims is three task runs for one partnership (restore files, list the
partnerships, make the batch), not one per claim. Retries are declared on the tasks; they are safe
because every step is idempotent (a batch never takes a claim twice; the outbox never resends a
delivered row). Expected refusals (`ServiceError`) are results, not retried failures.

The database comes from the settings (`CXP_DATABASE_URL`), never from a flow parameter, so that no
connection string is stored in Prefect's own database.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from prefect import Flow, flow, task
from prefect.cache_policies import NO_CACHE

from workflows.flows.jobs import current_app
from workflows.services import ServiceError
from workflows.settings import Settings


@task(name="recover-payment-files", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def recover_payment_files() -> list[str]:
    """Rebuild the files of committed batches that a crash left missing (checked by SHA-256)."""
    from workflows.services.payment_files import recover_files

    return recover_files(current_app())


@task(name="list-partnerships", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def list_partnerships() -> list[str]:
    from workflows.services.payments import partnership_codes

    return partnership_codes(current_app())


@task(name="create-batch", task_run_name="create-batch-{partnership}", retries=2, retry_delay_seconds=30,
      cache_policy=NO_CACHE)
def create_partnership_batch(partnership: str) -> dict[str, Any]:
    """One partnership's batch; a refusal (e.g. a bad debtor account) is returned as `error`."""
    from workflows.services.payments import create_batch

    try:
        return create_batch(current_app(), partnership)
    except ServiceError as err:
        return {"partnership": partnership, "batch": None, "files": [], "held": [], "error": str(err)}


@flow(name="payment-batch", description="One SEPA payment batch per partnership (SPEC §6).")
def payment_batch_flow(partnership: str | None = None) -> dict[str, Any]:
    from workflows.services.payments import summarise

    recovered = recover_payment_files()
    codes = [partnership] if partnership else list_partnerships()
    results = [create_partnership_batch(code) for code in codes]  # one after the other: one writer
    errors = [{"partnership": r["partnership"], "error": r["error"]} for r in results if r.get("error")]
    return summarise([r for r in results if not r.get("error")], recovered, errors)


@task(name="kpi-report", task_run_name="kpi-report-{period}", retries=2, retry_delay_seconds=30,
      cache_policy=NO_CACHE)
def make_kpi_report(period: str | None, partnership: str | None) -> dict[str, Any]:
    """Every scope's report from one read of the rows, written and mailed in one unit of work."""
    from workflows.services.reporting import kpi_report

    return kpi_report(current_app(), period, partnership)


@flow(name="kpi-report", description="The monthly KPI report, programme-wide and per partnership (SPEC §6).")
def kpi_report_flow(partnership: str | None = None, period: str | None = None) -> dict[str, Any]:
    return make_kpi_report(period, partnership)


@task(name="fire-due-timers", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def fire_due_timers() -> int:
    from workflows.services.lifecycle import fire_due_timers as fire

    return fire(current_app())


@task(name="chase-tasks", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def chase_tasks() -> dict[str, int]:
    from workflows.services.deadlines import chase_tasks as chase

    return chase(current_app())


@task(name="sweep-sign-in-counts", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def sweep_sign_in_counts() -> int:
    """Forget the sign-in counts of usernames not tried for a day (their untold refusals audited)."""
    from workflows.services.throttle import sweep_attempts

    return sweep_attempts(current_app()).removed


@task(name="release-budget-reservations", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def release_budget_reservations() -> int:
    """Give back the budget reservations of steps killed after reserving (R-BUDGET, issue 21)."""
    from workflows.services.calls import release_orphaned_reservations

    return release_orphaned_reservations(current_app())


@flow(name="timers", description="Fire the BPMN timers that are due; remind and escalate tasks past their "
                                 "follow-up and due dates (SPEC §6); give back the budget reservations of "
                                 "killed steps.")
def timers_flow() -> dict[str, Any]:
    return {"timers_fired": fire_due_timers(), **chase_tasks(), "sign_in_counts_removed": sweep_sign_in_counts(),
            "budget_reservations_released": release_budget_reservations()}


@task(name="deliver-outbox", cache_policy=NO_CACHE)
def deliver_outbox() -> dict[str, Any]:
    """Send due emails; failures are rescheduled per row (back-off), so the task itself is not retried."""
    from workflows.services.outbox_delivery import deliver_pending

    return deliver_pending(current_app())


@task(name="sweep-evidence", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def sweep_evidence() -> dict[str, int]:
    """Remove what uploads killed half-way left in the evidence store (older than an hour)."""
    from workflows.services.evidence_store import sweep_evidence as sweep

    return sweep(current_app()).model_dump()


@flow(name="outbox", description="Deliver the queued emails with retries and back-off (SPEC §9).")
def outbox_flow() -> dict[str, Any]:
    recovered = recover_payment_files()
    return {**deliver_outbox(), "recovered_files": recovered, "swept_evidence": sweep_evidence()}


FLOWS: dict[str, Flow[..., dict[str, Any]]] = {
    "payment-batch": payment_batch_flow, "kpi-report": kpi_report_flow, "timers": timers_flow, "outbox": outbox_flow,
}


def schedules(settings: Settings) -> dict[str, Any]:
    """The schedule of each flow, from the settings."""
    from prefect.schedules import Cron, Interval

    return {
        "payment-batch": Cron(settings.payment_batch_cron, timezone=settings.timezone),
        "kpi-report": Cron(settings.kpi_report_cron, timezone=settings.timezone),
        "timers": Interval(timedelta(minutes=settings.timers_every_minutes), timezone=settings.timezone),
        "outbox": Interval(timedelta(minutes=settings.outbox_every_minutes), timezone=settings.timezone),
    }


def deployments(settings: Settings) -> list[Any]:
    """One deployment per flow with its schedule, for `serve`."""
    plan = schedules(settings)
    return [FLOWS[name].to_deployment(name=name, schedules=[plan[name]], tags=["clusterxchange"])
            for name in FLOWS]


# How many runs of each deployment of a work pool may run at once (SPEC §15); later runs wait (ENQUEUE).
# One payment batch at a time: its flow makes the partnerships' batches one after the other, so a
# partnership never has two batches in the making. One outbox delivery. The timers sweep runs with any
# number of others (its instances are claimed with leases: workflows/db/queue.py), but a run that
# outlasts its interval must not pile up behind it: two at a time.
CONCURRENCY = {"payment-batch": 1, "kpi-report": 1, "timers": 2, "outbox": 1}
POOL_TAG = "clusterxchange"


def pool_deployments(settings: Settings, pool: str) -> list[Any]:
    """One deployment per flow for the process work pool `pool`: its schedule and time zone, its
    concurrency limit, and its flow named by module path — a worker with the wheel installed loads it
    from the package (no source to pull, no image)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    plan = schedules(settings)
    return [FLOWS[name].to_deployment(
        name=name, schedules=[plan[name]], tags=[POOL_TAG], work_pool_name=pool,
        concurrency_limit=ConcurrencyLimitConfig(limit=CONCURRENCY[name],
                                                 collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
        entrypoint_type=EntrypointType.MODULE_PATH) for name in FLOWS]


def ensure_process_pool(pool: str) -> bool:
    """Create the process work pool `pool` (Prefect's default job template) unless it exists; whether
    it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            found = client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
            return True
        if found.type != "process":
            raise ValueError(f"work pool {pool!r} is of type {found.type!r}, not a process work pool")
        return False


def deploy_all(settings: Settings, pool: str) -> dict[str, Any]:
    """Register every flow as a deployment of the process work pool `pool` (created if missing) with
    the Prefect API of `PREFECT_API_URL`; the deployments as registered."""
    from prefect.deployments.runner import deploy

    created = ensure_process_pool(pool)
    built = pool_deployments(settings, pool)
    ids = cast(list[Any], deploy(*built, work_pool_name=pool, build=False, push=False, print_next_steps_message=False,
                 ignore_warnings=True))  # called from sync code: the list itself
    rows = []
    for deployment, deployment_id in zip(built, ids, strict=True):
        schedule = deployment.schedules[0].schedule
        interval = getattr(schedule, "interval", None)
        rows.append({"deployment": f"{deployment.flow_name}/{deployment.name}", "id": str(deployment_id),
                     "entrypoint": deployment.entrypoint, "cron": getattr(schedule, "cron", None),
                     "every_seconds": interval.total_seconds() if interval else None,
                     "timezone": schedule.timezone, "concurrency_limit": CONCURRENCY[deployment.name]})
    return {"pool": pool, "pool_created": created, "deployments": rows}


def describe(settings: Settings) -> list[dict[str, Any]]:
    """What `cxp flows serve` serves: each deployment as built, with its schedule and time zone."""
    rows = []
    for deployment in deployments(settings):
        schedule = deployment.schedules[0].schedule
        interval = getattr(schedule, "interval", None)
        rows.append({"flow": deployment.name, "entrypoint": deployment.entrypoint,
                     "cron": getattr(schedule, "cron", None),
                     "every_seconds": interval.total_seconds() if interval else None,
                     "timezone": schedule.timezone})
    return rows


def serve_all(settings: Settings) -> None:
    """Serve every flow on its schedule until interrupted (Prefect's `serve`)."""
    from prefect import serve

    serve(*deployments(settings))
