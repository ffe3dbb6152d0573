"""What a task's form is checked against besides its own fields (`tasks.form_rules`): the case.

Built in the use case's unit of work, from the records the process works on — the exchange, its
host organisation, the call's rule set and today's date in the programme's time zone.
"""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from workflows.db.base import must_get
from workflows.db.models import Application, Call, EvidenceFile, Exchange, Organisation
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.uow import UnitOfWork

NEEDS_CONTEXT = frozenset({"agree_commitment", "submit_evidence", "review_proposals"})


def form_context(uow: UnitOfWork, task: HumanTask, timezone: str = "Europe/Brussels") -> dict[str, Any] | None:
    """The case of `task` for its form's checks, or None when its form needs none."""
    if task.task_spec not in NEEDS_CONTEXT:
        return None
    instance = uow.session.get(ProcessInstance, task.instance_id)
    if instance is not None and instance.subject_type == "call" and task.task_spec == "review_proposals":
        return _match_review(uow, instance.subject_id)
    if instance is None or instance.subject_type != "exchange":
        return None
    exchange = must_get(uow.session, Exchange, instance.subject_id)
    context: dict[str, Any] = {"today": uow.now().astimezone(ZoneInfo(timezone)).date(), "format": exchange.format,
                               "arrival": exchange.arrival, "departure": exchange.departure}
    if task.task_spec == "submit_evidence":
        context["uploaded"] = frozenset(uow.session.scalars(select(EvidenceFile.sha256).where(
            EvidenceFile.exchange_id == exchange.id)))
    if exchange.host_org_id is not None:
        from workflows.programme import Programme

        host = must_get(uow.session, Organisation, exchange.host_org_id)
        call = must_get(uow.session, Call, exchange.call_id)
        context.update(host_country=host.country, host_subdivision=host.subdivision,
                       rule_set=Programme(uow.session, uow.now(), None).rule_set(call.rule_set_version))
    return context


def _match_review(uow: UnitOfWork, call_id: int) -> dict[str, Any]:
    """The round under review: its proposals' ids, and how an override would be judged
    (`match_overrides.override_problems`, nothing changed) so that a refused one is a field error."""
    from workflows.db.models import MatchProposal
    from workflows.match_overrides import override_problems
    from workflows.programme import Programme

    round_no = uow.session.scalar(select(MatchProposal.round).where(
        MatchProposal.call_id == call_id, MatchProposal.status == "proposed").order_by(
        MatchProposal.round.desc()).limit(1))
    if round_no is None:
        return {}
    ids = frozenset(uow.session.scalars(select(MatchProposal.id).where(
        MatchProposal.call_id == call_id, MatchProposal.round == round_no, MatchProposal.status == "proposed")))
    programme = Programme(uow.session, uow.now(), None)
    names = {a.id: a.organisation.legal_name for a in uow.session.scalars(
        select(Application).where(Application.call_id == call_id))}
    return {"proposal_ids": ids, "application_names": names,
            "override_problems": lambda reassign: override_problems(programme, call_id, round_no, reassign)}
