"""Forms judged against their case: the format's evidence checklist, the attended days against the
stay, the agreed dates against R-DUR at the host and today's date (issue 10: a person's data that a
rule cannot use is refused at the form with a field error, never left to become an incident)."""
from __future__ import annotations

from datetime import date

import pytest

from rules.ruleset import get_rule_set
from tasks.forms import FormError, validate_form
from tests.bpmn.harness import CERTIFICATE, GOOD_FORMS

RS = get_rule_set("2026.1")
STAY = {"arrival": date(2025, 5, 4), "departure": date(2025, 5, 10)}
REGISTRATION = {**CERTIFICATE, "kind": "registration_proof", "filename": "registration.pdf"}
REPORT = {**CERTIFICATE, "kind": "activity_report", "filename": "report.pdf"}


def errors(task_id: str, data: dict, context: dict) -> dict[str, str]:
    with pytest.raises(FormError) as caught:
        validate_form(task_id, data, context)
    return {e["field"]: e["message"] for e in caught.value.errors}


def evidence(**changes) -> dict:
    return {**GOOD_FORMS["submit_evidence"], "attended_days": ["2025-05-05", "2025-05-06", "2025-05-07"], **changes}


def test_an_attended_day_outside_the_stay_is_a_field_error():
    found = errors("submit_evidence", evidence(attended_days=["2025-05-06", "2025-05-20"]), STAY)
    assert found == {"attended_days": "2025-05-20 not in the stay 2025-05-04 to 2025-05-10"}
    assert validate_form("submit_evidence", evidence(), STAY)["attended_days"][0] == "2025-05-05"


def test_a_conference_or_fair_needs_its_registration_proof_and_the_meetings_held():
    found = errors("submit_evidence", evidence(documents=[CERTIFICATE], matchmaking_meetings=None),
                   {**STAY, "format": "conference_fair"})
    assert found == {"documents": "must include the registration proof of the conference or fair",
                     "matchmaking_meetings": "give the number of matchmaking meetings held at the conference or "
                                             "fair (at least 1)"}
    ok = validate_form("submit_evidence", evidence(documents=[REGISTRATION], matchmaking_meetings=4),
                       {**STAY, "format": "conference_fair"})
    assert ok["matchmaking_meetings"] == 4


def test_an_individual_exchange_needs_the_certificate_and_an_activity_report():
    found = errors("submit_evidence", evidence(documents=[CERTIFICATE]), {"format": "individual_exchange"})
    assert found == {"documents": "must include a report of the activities"}
    assert validate_form("submit_evidence", evidence(documents=[CERTIFICATE, REPORT]),
                         {"format": "individual_exchange"})


def commitment(arrival: str, departure: str, kinds=("joint_learning_event", "matchmaking", "study_visit")) -> dict:
    return {**GOOD_FORMS["agree_commitment"], "arrival": arrival, "departure": departure,
            "activities": [{"kind": k, "title": k.replace("_", " "), "on": None} for k in kinds]}


CASE = {"today": date(2025, 4, 1), "host_country": "AT", "host_subdivision": None, "format": "exchange_visit",
        "rule_set": RS}


def test_agreed_dates_that_fail_r_dur_are_field_errors_with_their_reason():
    found = errors("agree_commitment", commitment("2025-05-04", "2025-06-20", kinds=["matchmaking"]), CASE)
    assert set(found) == {"departure", "activities"}
    assert found["departure"].endswith("[STAY_TOO_LONG]") and "2025-06-04" in found["departure"]
    assert found["activities"].endswith("[MISSING_ACTIVITIES]")
    two_days = errors("agree_commitment", commitment("2025-05-05", "2025-05-08"), CASE)
    assert two_days["departure"].startswith("The stay has 2 working days")


def test_a_visit_that_would_start_in_the_past_is_refused():
    found = errors("agree_commitment", commitment("2025-03-30", "2025-04-05"), CASE)
    assert found == {"arrival": "2025-03-30 is in the past (today is 2025-04-01)"}


def test_a_good_agenda_passes_and_without_a_case_only_the_form_is_checked():
    assert validate_form("agree_commitment", commitment("2025-05-04", "2025-05-10"), CASE)["arrival"] == "2025-05-04"
    assert validate_form("agree_commitment", commitment("2020-01-01", "2020-03-01", kinds=[]))
