"""What the demo's people answer in each task, by the scenario of the exchange it belongs to."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from workflows.db.process_models import HumanTask
from workflows.demo.data import BRUSSELS, Scenario
from workflows.demo.documents import cited, evidence_files

REAL_IBAN = {"BE": "BE71096123456769", "DE": "DE89370400440532013000", "FR": "FR1420041010050500013M02606",
             "NL": "NL91ABNA0417164300", "AT": "AT611904300234573201", "IT": "IT60X0542811101000000123456",
             "ES": "ES9121000418450200051332", "PL": "PL61109010140000071219812874"}
# Visitors whose own account is outside the SEPA zone give a euro account with a SEPA bank.
SEPA_ACCOUNT_FOR = {"UA": "PL", "RS": "AT", "TR": "DE"}
LEAD_DAYS = 12  # a stay is planned to start at least this many days after the commitment is agreed


def _stay(facts: dict[str, Any], scenario: Scenario, today: date) -> tuple[date, date]:
    """Arrive on a Sunday (or Monday for short stays) inside both parties' windows, late enough for the
    four signatures to be collected before the visit starts."""
    start = max(facts["visitor_from"], facts["host_from"], today + timedelta(days=LEAD_DAYS))
    if scenario.kind == "short":
        arrive = start + timedelta(days=(0 - start.weekday()) % 7)
        return arrive, arrive + timedelta(days=4)
    arrive = start + timedelta(days=(6 - start.weekday()) % 7)
    return arrive, arrive + timedelta(days=6)


def answer(task: HumanTask, scenario: Scenario, facts: dict[str, Any], now: datetime,
           seen: dict[str, int]) -> dict[str, Any] | None:
    """Form data for `task` today, or None when this person does not act yet."""
    spec = task.task_spec
    today = now.astimezone(BRUSSELS).date()
    count = seen.get(spec, 0)
    kind = scenario.kind
    if spec == "prepare_call":
        return {"confirm": True, "notes": "Budget and rule set 2026.1 checked."}
    if spec == "assess_registration":  # an organisation that registered itself (workflows/demo/front_door.py)
        return {"decision": "approve"}
    if spec == "approve_host":
        return {"decision": "approve", "comment": "Offer is clear and matches the call's ecosystems."}
    if spec == "assess_application":
        if kind == "rejected":
            return {"decision": "reject", "comment": "The motivation does not show a link to the call's topics."}
        if kind in ("info", "withdrawn") and count == 0:
            return {"decision": "request_info", "comment": "Please describe the three activities you plan."}
        return {"decision": "approve", "comment": "Eligible and well motivated."}
    if spec == "provide_information":
        if kind == "withdrawn":
            return None
        return {"information": "We plan a joint learning event, B2B matchmaking and a study visit of two labs."}
    if spec == "review_proposals":
        form: dict[str, Any] = {"confirm": True, "drop_proposals": facts.get("drop", []),
                                "comment": "Proposals reviewed."}
        if form["drop_proposals"]:
            form["comment"] = "Proposals reviewed; those of visitors whose matching deadline passed are dropped."
        if facts.get("reassign"):
            form["reassign"] = facts["reassign"]
            form["comment"] = "Proposals reviewed; one visitor moved to a host the officer knows well."
        return form
    if spec == "visitor_accept_match":
        return {"accept": True, "reason": None}
    if spec == "host_accept_match":
        if kind == "declined" and count == 0:
            return {"accept": False, "reason": "Our lab is closed for renovation in those weeks."}
        return {"accept": True, "reason": None}
    if spec == "agree_commitment":
        arrive, depart = _stay(facts, scenario, today)
        return {"arrival": arrive.isoformat(), "departure": depart.isoformat(),
                "agenda": "Day 1 joint learning event; day 2-3 B2B matchmaking; day 4-5 study visit.",
                "activities": [{"kind": "joint_learning_event", "title": "Digital transformation training",
                                "on": None},
                               {"kind": "matchmaking", "title": "B2B meetings with host members", "on": None},
                               {"kind": "study_visit", "title": "Visit of the host's pilot lines", "on": None}]}
    if spec.startswith("sign_commitment"):
        return {"signed": True, "signatory_name": task.name.split(":")[0][:60] or "Signatory"}
    if spec == "host_consent_extension":
        return {"consent": True, "comment": "Happy to host one more week."}
    if spec == "decide_extension":
        return {"approve": True, "comment": "Within one month; no extra grant above the cap."}
    if spec == "submit_evidence":
        return _evidence(task, scenario, facts, today)
    if spec == "validate_evidence":
        if kind == "correction" and count == 0:
            return {"decision": "return", "comment": "The attendance certificate is not signed by the host."}
        if kind == "override":
            return {"decision": "accept", "comment": "Evidence complete; see the override.",
                    "override_amount": "600.00",
                    "override_reason": "The host certified two half days only; the partnership board agreed "
                                       "EUR 600 for the activities actually done."}
        return {"decision": "accept", "comment": "Evidence complete."}
    if spec == "approve_payment":
        return {"decision": "approve", "comment": None}
    if spec == "correct_bank_details":
        country = SEPA_ACCOUNT_FOR.get(facts["visitor_country"], facts["visitor_country"])
        return {"iban": REAL_IBAN.get(country, REAL_IBAN["BE"]), "bic": None,
                "account_holder": facts["account_holder"]}
    if spec == "verify_bank_details":
        return {"verified": True, "comment": "Checked against the bank's confirmation letter."}
    return None


def _evidence(task: HumanTask, scenario: Scenario, facts: dict[str, Any], today: date) -> dict[str, Any] | None:
    due = task.due_at.astimezone(BRUSSELS).date() if task.due_at else today
    if scenario.kind == "late" and today <= due:
        return None
    if scenario.kind != "late" and today < facts["departure"] + timedelta(days=3):
        return None
    last = facts["cancelled_on"] or facts["departure"]
    days = [facts["arrival"] + timedelta(days=i) for i in range(1, (last - facts["arrival"]).days)]
    attended = [d.isoformat() for d in days if d.weekday() < 5] or [facts["arrival"].isoformat()]
    ref = task.subject_ref or ""
    files = evidence_files(ref, facts["visitor_name"], facts.get("host_name", ""))
    return {
        "_uploads": (ref, files),  # uploaded before the report is submitted (`People._upload`)
        "attended_days": attended,
        "documents": cited(files),
        "activities_done": ["joint_learning_event", "matchmaking", "study_visit"],
        "feedback_rating": 5 if scenario.kind == "normal" else 4,
        "feedback_comment": "Very useful exchange; two follow-up projects agreed.",
        "matchmaking_meetings": 6, "travel_costs": None, "accommodation_costs": None, "subsistence_costs": None,
    }
