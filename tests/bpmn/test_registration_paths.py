"""Every path of bpmn/registration.bpmn, saved and restored at every step (see harness.py)."""
from __future__ import annotations

from tests.bpmn.harness import Run

PARTNERSHIP = 7


def start() -> Run:
    return Run("registration", {"registration_id": 1, "organisation_id": 5, "partnership_id": PARTNERSHIP,
                                "subject_ref": "REG-00001"}, {})


def test_an_approved_registration_ends_approved_after_telling_the_applicant():
    run = start()
    assert run.offered == ["assess_registration"]
    assert run.assignment("assess_registration") == {"lane": "Officer", "partnership": PARTNERSHIP}
    run.complete("assess_registration", decision="approve")
    assert run.finished and run.ends == ["end_approved"]
    assert run.calls() == ["approve_registration"]


def test_a_rejected_registration_ends_rejected_after_telling_the_reason():
    run = start()
    run.complete("assess_registration", decision="reject", reason="Not a cluster organisation.")
    assert run.finished and run.ends == ["end_rejected"]
    assert run.calls() == ["reject_registration"]


def test_asked_for_information_the_applicant_answers_and_the_officers_assess_again():
    run = start()
    run.complete("assess_registration", decision="request_info", question="Which cluster?")
    assert run.offered == ["answer_registration_question"]
    assert run.assignment("answer_registration_question") == {"lane": "Applicant", "partnership": PARTNERSHIP}
    run.complete("answer_registration_question", information="Flanders Digital.")
    assert run.offered == ["assess_registration"]
    run.complete("assess_registration", decision="request_info", question="Since when?")
    run.complete("answer_registration_question", information="Since 2020.")
    run.complete("assess_registration", decision="approve")
    assert run.finished and run.ends == ["end_approved"]
    assert run.calls() == ["request_registration_information", "record_registration_answer",
                           "request_registration_information", "record_registration_answer", "approve_registration"]
