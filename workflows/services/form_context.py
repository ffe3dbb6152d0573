"""What a task's form is checked against besides its own fields (`tasks.form_rules`): the case.

Built in the use case's unit of work, from the records the process works on — the exchange, its
host organisation, the call's rule set and today's date in the programme's time zone.
"""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from workflows.db.base import must_get
from workflows.db.models import Call, Exchange, Organisation
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.uow import UnitOfWork

NEEDS_CONTEXT = frozenset({"agree_commitment", "submit_evidence"})


def form_context(uow: UnitOfWork, task: HumanTask, timezone: str = "Europe/Brussels") -> dict[str, Any] | None:
    """The case of `task` for its form's checks, or None when its form needs none."""
    if task.task_spec not in NEEDS_CONTEXT:
        return None
    instance = uow.session.get(ProcessInstance, task.instance_id)
    if instance is None or instance.subject_type != "exchange":
        return None
    exchange = must_get(uow.session, Exchange, instance.subject_id)
    context: dict[str, Any] = {"today": uow.now().astimezone(ZoneInfo(timezone)).date(), "format": exchange.format,
                               "arrival": exchange.arrival, "departure": exchange.departure}
    if exchange.host_org_id is not None:
        from workflows.programme import Programme

        host = must_get(uow.session, Organisation, exchange.host_org_id)
        call = must_get(uow.session, Call, exchange.call_id)
        context.update(host_country=host.country, host_subdivision=host.subdivision,
                       rule_set=Programme(uow.session, uow.now(), None).rule_set(call.rule_set_version))
    return context
