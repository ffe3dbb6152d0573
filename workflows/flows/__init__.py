"""Scheduled jobs (SPEC §6) as Prefect 3 flows, and the same jobs without Prefect.

- `workflows.flows.jobs`: each job as a plain function over the services (no Prefect import), for
  `cxp flows run NAME --no-prefect` and for callers that need no orchestration;
- `workflows.flows.definitions`: the Prefect flows — thin: a handful of tasks that call the same
  services — and their schedules, served together by `cxp flows serve`.
"""
FLOW_NAMES = ("payment-batch", "kpi-report", "timers", "outbox")
