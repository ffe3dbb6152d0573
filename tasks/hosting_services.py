"""Service tasks of the `hosting` process: host eligibility and the published offer."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.eligibility import check_eligibility
from tasks.portal import act_path
from tasks.ports import ServiceContext
from tasks.registry import service


@service("check_host_eligibility")
def check_host_eligibility(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    facts = ctx.programme.host_eligibility_facts(data["application_id"])
    decision = check_eligibility(facts.org, facts.application, facts.window, facts.rule_set, 0)
    ctx.programme.record_application_eligibility(data["application_id"], decision.to_dict())
    return {"eligible": decision.ok, "eligibility_reasons": [r.to_dict() for r in decision.reasons]}


def _host_mail(ctx: ServiceContext, data: Mapping[str, Any], template: str) -> None:
    facts = ctx.programme.application_summary(data["application_id"])
    ctx.notify(template, [facts["email"]], {**facts, "portal_path": act_path(f"application:{data['application_id']}")}, key=f"{template}:app{data['application_id']}")


@service("notify_host_ineligible")
def notify_host_ineligible(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    ctx.programme.set_application_status(data["application_id"], "ineligible")
    _host_mail(ctx, data, "application_ineligible")


@service("notify_host_rejected")
def notify_host_rejected(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    ctx.programme.set_application_status(data["application_id"], "rejected")
    _host_mail(ctx, data, "application_rejected")


@service("publish_offer")
def publish_offer(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    ctx.programme.set_application_status(data["application_id"], "published")
