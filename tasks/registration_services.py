"""Service tasks of the `registration` process (bpmn/registration.bpmn): each outcome of the
partnership's assessment is recorded on the registration and emailed to the organisation's contact,
with the link to where they act."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasks.ports import ServiceContext
from tasks.registry import service


def _mail(ctx: ServiceContext, data: Mapping[str, Any], template: str, portal_path: str, key: str) -> None:
    facts = ctx.programme.registration_summary(data["registration_id"])
    ctx.notify(template, [facts["email"]], {**facts, "portal_path": portal_path},
               key=f"{template}:{data['registration_id']}:{key}")


@service("approve_registration")
def approve_registration(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    by = ctx.programme.last_completed_by(ctx.instance_id, "assess_registration")
    ctx.programme.record_registration(data["registration_id"], "approved", decided_by=by)
    _mail(ctx, data, "registration_approved", "/my/applications/new", "approved")


@service("reject_registration")
def reject_registration(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    by = ctx.programme.last_completed_by(ctx.instance_id, "assess_registration")
    ctx.programme.record_registration(data["registration_id"], "rejected", decided_by=by,
                                      reason=str(data.get("reason") or ""))
    _mail(ctx, data, "registration_rejected", "/my", "rejected")


@service("request_registration_information")
def request_registration_information(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    asked = int(data.get("questions_asked") or 0) + 1
    ctx.programme.record_registration(data["registration_id"], "information_requested",
                                      question=str(data.get("question") or ""), answer=None)
    _mail(ctx, data, "registration_information_requested", "/tasks", f"question{asked}")
    return {"questions_asked": asked}


@service("record_registration_answer")
def record_registration_answer(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    ctx.programme.record_registration(data["registration_id"], "verified", answer=str(data.get("information") or ""))
