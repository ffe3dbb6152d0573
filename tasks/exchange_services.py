"""Service tasks of the `exchange` process. Each reads facts through the context, decides with
`rules/`, records the decision and returns the task-data updates the diagram's gateways read."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from rules.duration import check_duration
from rules.eligibility import check_eligibility as eligibility_rule
from rules.errors import RuleInputError
from rules.grant import apply_override, compute_actual_costs_grant
from rules.grant import compute_grant as grant_rule
from rules.working_days import count_working_days
from tasks.portal import act_path
from tasks.ports import ServiceContext
from tasks.registry import service

BRUSSELS = ZoneInfo("Europe/Brussels")


def end_of_day(day: date) -> str:
    """18:00 Brussels time on `day`, as an ISO datetime (timers and due dates)."""
    return datetime.combine(day, time(18, 0), BRUSSELS).isoformat()


def _form(data: Mapping[str, Any], task: str) -> dict[str, Any]:
    return dict(data.get(task) or {})


def _visitor_mail(ctx: ServiceContext, data: Mapping[str, Any], template: str, key: str, act: str | None = None,
                  **extra: Any) -> None:
    """Mail the visitor; its link opens the task `act` once it waits, else the exchange on the visitor's page."""
    facts = ctx.programme.exchange_summary(data["exchange_id"])
    ctx.notify(template, [facts["visitor_email"]], {**facts, "portal_path": act_path(facts["exchange_ref"], act), **extra},
               key=f"{template}:{data['exchange_id']}:{key}")


@service("check_eligibility")
def check_eligibility(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    facts = ctx.programme.visitor_eligibility_facts(data["exchange_id"])
    decision = eligibility_rule(facts.org, facts.application, facts.window, facts.rule_set, facts.prior_visits,
                                live_applications=facts.live_applications)
    ctx.programme.record_eligibility(data["exchange_id"], decision.to_dict())
    return {"eligible": decision.ok, "eligibility_reasons": [r.to_dict() for r in decision.reasons]}


@service("notify_ineligible")
def notify_ineligible(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    reasons = [r.get("message") or r.get("code") for r in data.get("eligibility_reasons", [])]
    _visitor_mail(ctx, data, "application_ineligible", "1", reasons=reasons)


@service("notify_rejected")
def notify_rejected(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    _visitor_mail(ctx, data, "application_rejected", "1", reason=_form(data, "assess_application").get("comment"),
                  decided_on=ctx.now().date().isoformat())


@service("request_information")
def request_information(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    rule_set = ctx.programme.rule_set_for_exchange(data["exchange_id"])
    deadline = end_of_day(ctx.now().astimezone(BRUSSELS).date() + timedelta(days=rule_set.info_request_days))
    ctx.programme.set_exchange_status(data["exchange_id"], "information_requested")
    _visitor_mail(ctx, data, "information_requested", deadline, act="provide_information",
                  requested=[_form(data, "assess_application").get("comment") or "more information"],
                  due_date=deadline[:10])
    return {"info_deadline": deadline}


@service("notify_withdrawn")
def notify_withdrawn(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    _visitor_mail(ctx, data, "application_withdrawn", "1", withdrawn_on=ctx.now().date().isoformat())


@service("register_for_matching")
def register_for_matching(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    deadline = ctx.programme.register_for_matching(data["exchange_id"])
    facts = ctx.programme.exchange_summary(data["exchange_id"])
    ctx.notify("application_approved", [facts["visitor_email"]],
               {**facts, "matching_deadline": deadline.astimezone(BRUSSELS).date().isoformat(),
                "portal_path": act_path(f"application:{facts['application_id']}")},
               key=f"application_approved:{data['exchange_id']}")
    return {"matching_deadline": deadline.isoformat()}


@service("notify_not_matched")
def notify_not_matched(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    ctx.programme.withdraw_from_matching(data["exchange_id"])
    _visitor_mail(ctx, data, "not_matched", "1")


@service("record_match_answers")
def record_match_answers(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    visitor = _form(data, "visitor_accept_match")
    host = _form(data, "host_accept_match")
    accepted = bool(visitor.get("accept")) and bool(host.get("accept"))
    ctx.programme.record_match_answer(
        data["exchange_id"], int(data["proposal_id"]), accepted,
        {"visitor": visitor, "host": host},
    )
    _answer_mails(ctx, data, accepted, visitor, host)
    return {"match_accepted": accepted}


def _answer_mails(ctx: ServiceContext, data: Mapping[str, Any], accepted: bool, visitor: Mapping[str, Any],
                  host: Mapping[str, Any]) -> None:
    """Each side is told the other side's answer (and, when both accepted, what comes next)."""
    sides = ctx.programme.proposal_mails(int(data["proposal_id"]))  # [(visitor's address, …), (host's, …)]
    names = [context["organisation"] for _, context in sides]
    declined = [name for name, form in zip(names, (visitor, host), strict=True) if not form.get("accept")]
    reasons = [str(form["reason"]) for form in (visitor, host) if not form.get("accept") and form.get("reason")]
    for to, context in sides:
        ctx.notify("match_answered", [to], {
            "recipient_name": context["recipient_name"], "organisation": context["organisation"],
            "partner_organisation": context["partner_organisation"], "exchange_id": context["exchange_id"],
            "accepted": accepted, "declined_by": declined, "reasons": reasons,
            "portal_path": act_path(context["exchange_id"]),
        }, key=f"match_answered:{data['proposal_id']}:{to}")


@service("check_commitment")
def check_commitment(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    form = _form(data, "agree_commitment")
    arrive, depart = date.fromisoformat(form["arrival"]), date.fromisoformat(form["departure"])
    facts = ctx.programme.exchange_facts(data["exchange_id"])
    days = count_working_days(facts.host.country, arrive, depart, facts.host.subdivision)
    kinds = [a["kind"] for a in form.get("activities", [])]
    decision = check_duration(arrive, depart, days.working_days, kinds, facts.format, facts.rule_set)
    ctx.programme.record_commitment(data["exchange_id"], form, decision.to_dict(), decision.ok)
    # the four signatures are due before the visit starts (the owner is chased, then escalated)
    signatures_due = datetime.combine(arrive, time(0, 0), BRUSSELS).isoformat()
    if decision.ok:
        _sign_mails(ctx, data, form, signatures_due)
    return {
        "commitment_ok": decision.ok,
        "commitment_problems": [r.to_dict() for r in decision.reasons],
        "arrival": form["arrival"], "departure": form["departure"],
        "signatures_due": signatures_due,
    }


def _sign_mails(ctx: ServiceContext, data: Mapping[str, Any], form: Mapping[str, Any], due: str) -> None:
    """The visitor and the host are each asked to sign the commitment, their link opening their task."""
    facts = ctx.programme.exchange_summary(data["exchange_id"])
    ref = facts["exchange_ref"]
    sides = ((facts["visitor_email"], facts["visitor_name"], facts["host_name"], "sign_commitment_visitor"),
             (facts["host_email"], facts["host_name"], facts["visitor_name"], "sign_commitment_host"))
    for to, me, other, task in sides:
        if to:
            ctx.notify("commitment_to_sign", [to], {
                "recipient_name": me, "organisation": me, "exchange_ref": ref, "partner_organisation": other,
                "arrival": form["arrival"], "departure": form["departure"], "signatures_due": due[:10],
                "portal_path": act_path(ref, task)}, key=f"commitment_to_sign:{data['exchange_id']}:{task}:{due}")


@service("start_visit")
def start_visit(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    ctx.programme.set_exchange_status(data["exchange_id"], "visit_planned")
    return {"visit_end": end_of_day(date.fromisoformat(data["departure"]))}


@service("apply_extension")
def apply_extension(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    consent = bool(_form(data, "host_consent_extension").get("consent"))
    approved = bool(_form(data, "decide_extension").get("approve"))
    new_departure = date.fromisoformat(str(data.get("extension_departure") or data["departure"]))
    facts = ctx.programme.exchange_facts(data["exchange_id"])
    arrive = date.fromisoformat(data["arrival"])
    days = count_working_days(facts.host.country, arrive, new_departure, facts.host.subdivision)
    decision = check_duration(arrive, new_departure, days.working_days, facts.activities, facts.format, facts.rule_set)
    applied = consent and approved and decision.ok and new_departure > date.fromisoformat(data["departure"])
    ctx.programme.record_extension(data["exchange_id"], {
        "requested_departure": new_departure.isoformat(), "reason": data.get("extension_reason"),
        "host_consent": consent, "officer_approved": approved, "applied": applied,
        "duration_check": decision.to_dict(),
    })
    if not applied:
        return {"extension_applied": False}
    return {"extension_applied": True, "departure": new_departure.isoformat(), "visit_end": end_of_day(new_departure)}


@service("record_cancellation")
def record_cancellation(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    ctx.programme.record_cancellation(data["exchange_id"], str(data.get("cancellation_reason") or ""))
    return {"cancelled": True, "visit_end": ctx.now().isoformat()}


@service("open_evidence_window")
def open_evidence_window(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    rule_set = ctx.programme.rule_set_for_exchange(data["exchange_id"])
    ended = datetime.fromisoformat(data["visit_end"]).astimezone(BRUSSELS).date()
    due = ended + timedelta(days=rule_set.evidence_due_days)
    ctx.programme.set_exchange_status(data["exchange_id"], "awaiting_evidence")
    return {
        "evidence_due_at": end_of_day(due),
        "evidence_reminder_at": end_of_day(due - timedelta(days=rule_set.evidence_reminder_days)),
    }


@service("send_evidence_reminder")
def send_evidence_reminder(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    _visitor_mail(ctx, data, "evidence_reminder", data["evidence_due_at"], act="submit_evidence",
                  due_date=data["evidence_due_at"][:10],
                  missing=["the closing report", "the host's attendance certificate", "tickets and invoices"])


@service("escalate_overdue_evidence")
def escalate_overdue_evidence(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    facts = ctx.programme.exchange_summary(data["exchange_id"])
    due = datetime.fromisoformat(data["evidence_due_at"])
    context = {**facts, "recipient_name": "Programme officer", "due_date": data["evidence_due_at"][:10],
               "portal_path": act_path(facts["exchange_ref"]),
               "days_overdue": max(0, (ctx.now() - due).days), "missing": ["closing report and evidence"]}
    ctx.notify("evidence_overdue", facts["officer_emails"], context,
               key=f"evidence_overdue:{data['exchange_id']}:{data['evidence_due_at']}")
    ctx.audit("evidence_overdue_escalated", subject=facts["exchange_ref"], after={"due": data["evidence_due_at"]})


@service("compute_working_days")
def compute_working_days(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    evidence = _form(data, "submit_evidence")
    facts = ctx.programme.exchange_facts(data["exchange_id"])
    attended = [date.fromisoformat(d) for d in evidence.get("attended_days", [])]
    result = count_working_days(
        facts.host.country, date.fromisoformat(data["arrival"]), date.fromisoformat(data["departure"]),
        facts.host.subdivision, attended,
    )
    explained = result.to_dict()
    ctx.programme.record_evidence(data["exchange_id"], evidence, explained)
    return {"working_days": result.working_days, "counted_dates": explained["counted"],
            "excluded_dates": explained["excluded"]}


@service("notify_correction_needed")
def notify_correction_needed(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    comment = _form(data, "validate_evidence").get("comment")
    ctx.programme.set_exchange_status(data["exchange_id"], "evidence_returned")
    _visitor_mail(ctx, data, "correction_needed", str(ctx.now().timestamp()), act="submit_evidence",
                  corrections=[comment or "see the officer's comment"], due_date=data["evidence_due_at"][:10])


@service("compute_grant")
def compute_grant(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    facts = ctx.programme.exchange_facts(data["exchange_id"])
    working_days = int(data["working_days"])
    if facts.rule_set.grant_model == "actual_costs":
        evidence = _form(data, "submit_evidence")
        costs = {k: Decimal(str(evidence.get(f"{k}_costs") or "0")) for k in ("travel", "accommodation", "subsistence")}
        result = compute_actual_costs_grant(facts.rule_set, costs, working_days)
    else:
        result = grant_rule(facts.rule_set, facts.host.country, working_days, facts.distance_km)
    validation = _form(data, "validate_evidence")
    override: dict[str, Any] | None = None  # as Claim.override stores it (JSON)
    if validation.get("override_amount") not in (None, ""):
        override = {"amount": str(validation["override_amount"]), "reason": validation.get("override_reason"),
                    "proposed_by": validation.get("completed_by")}
    ctx.programme.record_claim(data["exchange_id"], result.to_dict(), override,
                               validated_by=validation.get("completed_by"))
    amount = Decimal(override["amount"]) if override else result.amount
    if amount > 0:  # a grant of nothing ends the exchange, whose email says so (close_without_grant)
        summary = ctx.programme.exchange_summary(data["exchange_id"])
        why = list(result.messages) + ([f"An officer set the amount to EUR {amount:.2f}: {override.get('reason')}"]
                                       if override else [])
        ctx.notify("grant_decided", [summary["visitor_email"]], {
            **summary, "amount": f"{amount:.2f}", "working_days": working_days, "reasons": why,
            "portal_path": act_path(summary["exchange_ref"])},
            key=f"grant_decided:{data['exchange_id']}:{ctx.now().timestamp()}")
    return {"grant_zero": amount == 0, "grant_amount": f"{amount:.2f}",
            "grant_reasons": list(result.reasons)}


@service("close_without_grant")
def close_without_grant(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    ctx.programme.release_claim(data["exchange_id"], "no grant: " + ", ".join(data.get("grant_reasons", [])))
    _visitor_mail(ctx, data, "exchange_closed", "nogrant", amount_paid="0.00", closed_on=ctx.now().date().isoformat())


@service("commit_budget")
def commit_budget(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """R-BUDGET. A grant that starts to wait tells the administrators at once; one that waited and now
    fits (the `budget_available` message brought it here) tells its applicant and its officers."""
    exchange_id = data["exchange_id"]
    decision = ctx.programme.commit_budget(exchange_id)
    waited = data.get("budget_ok") is False  # this attempt follows a wait for budget
    moment = str(ctx.now().timestamp())
    if not decision.ok and not waited:
        facts = ctx.programme.budget_summary(exchange_id)
        ctx.notify("grant_waiting_budget", ctx.programme.admin_emails(),
                   {**facts, "recipient_name": "Programme support office",
                    "portal_path": f"/admin/calls/{facts['call_code']}#budget"},
                   key=f"grant_waiting_budget:{exchange_id}:{moment}")
    elif decision.ok and waited:
        facts = ctx.programme.budget_summary(exchange_id)
        ctx.notify("grant_committed", [facts["visitor_email"]], {**facts, "portal_path": act_path(facts["exchange_ref"])},
                   key=f"grant_committed:{exchange_id}:{moment}")
        ctx.notify("grant_committed", facts["officer_emails"],
                   {**facts, "recipient_name": "Programme officers", "for_officers": True,
                    "portal_path": act_path(facts["exchange_ref"], "approve_payment")},
                   key=f"grant_committed:{exchange_id}:officers:{moment}")
    return {"budget_ok": decision.ok, "budget_reasons": decision.codes}


@service("queue_claim")
def queue_claim(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Approved by a second officer: finalise any override (R-GRANT, R-4EYES) and await the batch."""
    approver = _form(data, "approve_payment").get("completed_by")
    result, override = ctx.programme.claim_grant(data["exchange_id"])
    if override:
        proposer = override.get("proposed_by")
        if not isinstance(proposer, int):  # R-4EYES compares the two people: a proposer must be known
            raise RuleInputError("proposed_by", "an override needs the officer who proposed it")
        final = apply_override(result, Decimal(override["amount"]), override.get("reason") or "",
                               proposed_by=proposer, approved_by=approver)
        ctx.programme.finalise_override(data["exchange_id"], final.to_dict())
    ctx.programme.approve_claim(data["exchange_id"], approver)
    return {}


@service("record_payment")
def record_payment(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    ctx.programme.set_exchange_status(data["exchange_id"], "paid")
    summary = ctx.programme.exchange_summary(data["exchange_id"])
    _visitor_mail(ctx, data, "payment_sent", "1", amount=summary.get("amount"),
                  paid_on=ctx.now().astimezone(BRUSSELS).date().isoformat())


@service("close_exchange")
def close_exchange(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    summary = ctx.programme.exchange_summary(data["exchange_id"])
    _visitor_mail(ctx, data, "exchange_closed", "paid", amount_paid=summary.get("amount"),
                  closed_on=ctx.now().date().isoformat())


@service("requeue_claim")
def requeue_claim(ctx: ServiceContext, data: Mapping[str, Any]) -> None:
    details = _form(data, "correct_bank_details")
    verification = _form(data, "verify_bank_details")
    ctx.programme.correct_bank_details(data["exchange_id"], details, verification.get("completed_by"))
