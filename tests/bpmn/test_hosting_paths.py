"""Every path of bpmn/hosting.bpmn, saved and restored at every step (see harness.py)."""
from __future__ import annotations

from tests.bpmn.harness import Run

HOST_P = 22


def start(eligible: bool = True) -> Run:
    return Run(
        "hosting",
        {"application_id": 1, "call_id": 2, "host_org_id": 3, "host_partnership_id": HOST_P},
        {"check_host_eligibility": {"eligible": eligible, "eligibility_reasons": [] if eligible else ["SAME_COUNTRY"]}},
    )


def test_ineligible_host_ends_after_emailing_the_reasons():
    run = start(eligible=False)
    assert run.finished
    assert run.ends == ["end_ineligible"]
    assert run.calls() == ["check_host_eligibility", "notify_host_ineligible"]


def test_rejected_host_offer_ends_rejected():
    run = start()
    assert run.offered == ["approve_host"]
    assert run.assignment("approve_host") == {"lane": "Officer", "partnership": HOST_P}
    run.complete("approve_host", decision="reject", comment="The offer has no study visit.")
    assert run.finished
    assert run.ends == ["end_rejected"]
    assert run.calls()[-1] == "notify_host_rejected"


def test_approved_host_offer_is_published():
    run = start()
    run.complete("approve_host", decision="approve")
    assert run.finished
    assert run.ends == ["end_published"]
    assert run.calls() == ["check_host_eligibility", "publish_offer"]
