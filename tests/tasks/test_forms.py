"""Every user task of bpmn/ has a form; forms refuse bad input field by field and round-trip good input."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from pydantic import BaseModel

from tasks.forms import FORMS, FormError, form_for, spoken_field, validate_form
from tests.bpmn.harness import CERTIFICATE, GOOD_FORMS

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def user_task_ids() -> set[str]:
    ids = set()
    for path in BPMN_DIR.glob("*.bpmn"):
        ids |= set(etree.parse(str(path)).getroot().xpath("//bpmn:userTask/@id", namespaces=BPMN_NS))
    return ids


def refused(task_id: str, data: dict) -> dict[str, str]:
    """The field -> message map of the errors `data` gets."""
    with pytest.raises(FormError) as caught:
        validate_form(task_id, data)
    error = caught.value
    assert error.task_id == task_id
    for item in error.errors:
        assert item["field"] and item["message"]
        assert f"{spoken_field(item['field'])}: {item['message']}" in str(error)  # items counted from 1
    return {item["field"]: item["message"] for item in error.errors}


def good(task_id: str, **changes) -> dict:
    return {**GOOD_FORMS[task_id], **changes}


# ------------------------------------------------------------------------------ coverage


def test_every_user_task_in_the_processes_has_a_form_and_no_form_is_orphaned():
    tasks = user_task_ids()
    assert len(tasks) == 21
    assert tasks == set(FORMS)
    assert set(GOOD_FORMS) == set(FORMS)


@pytest.mark.parametrize("task_id", sorted(FORMS))
def test_form_has_docstring_and_json_schema_with_described_fields(task_id):
    model = form_for(task_id)
    assert issubclass(model, BaseModel)
    assert (model.__doc__ or "").strip()
    schema = model.model_json_schema()
    json.dumps(schema)
    assert schema["additionalProperties"] is False
    assert schema["title"] and schema["description"]
    for name, prop in schema["properties"].items():
        assert prop.get("title"), f"{task_id}.{name} has no title"


@pytest.mark.parametrize("task_id", sorted(FORMS))
def test_good_input_round_trips(task_id):
    data = validate_form(task_id, GOOD_FORMS[task_id])
    assert json.loads(json.dumps(data)) == data
    assert validate_form(task_id, data) == data


@pytest.mark.parametrize("task_id", sorted(FORMS))
def test_unknown_and_missing_fields_are_refused_by_name(task_id):
    errors = refused(task_id, {**GOOD_FORMS[task_id], "surprise": 1})
    assert errors == {"surprise": "is not a field of this form"}
    required = [name for name, field in form_for(task_id).model_fields.items() if field.is_required()]
    errors = refused(task_id, {})
    assert set(errors) == set(required)
    assert all(message == "is required" for message in errors.values())


def test_unknown_task_has_no_form():
    with pytest.raises(KeyError, match="no form for user task 'nope'"):
        form_for("nope")
    with pytest.raises(KeyError):
        validate_form("nope", {})


def test_form_data_must_be_an_object():
    with pytest.raises(FormError, match="JSON object"):
        validate_form("assess_application", ["approve"])


# ------------------------------------------------------------------------------ exchange


def test_assessment_needs_a_comment_unless_approved():
    assert refused("assess_application", {"decision": "reject"}) == {
        "comment": "is required when the decision is not approve"
    }
    assert "comment" in refused("assess_application", {"decision": "request_info", "comment": "   "})
    assert "decision" in refused("assess_application", {"decision": "maybe"})
    assert validate_form("assess_application", {"decision": "reject", "comment": " Out of scope "}) == {
        "decision": "reject", "comment": "Out of scope",
    }


def test_provided_information_is_not_blank_nor_too_long():
    assert refused("provide_information", {"information": " "}) == {"information": "must not be blank"}
    assert "information" in refused("provide_information", {"information": "x" * 5001})


@pytest.mark.parametrize("task_id", ["visitor_accept_match", "host_accept_match"])
def test_declining_a_match_needs_a_reason(task_id):
    assert refused(task_id, {"accept": False}) == {"reason": "is required when declining"}
    assert "accept" in refused(task_id, {"accept": "perhaps"})
    assert validate_form(task_id, {"accept": False, "reason": "No capacity"})["reason"] == "No capacity"


def test_commitment_departure_must_follow_arrival_and_activities_are_checked():
    errors = refused("agree_commitment", good("agree_commitment", departure="2025-05-05"))
    assert errors == {"departure": "must be after the arrival date"}
    errors = refused("agree_commitment", good("agree_commitment", arrival="2025-02-30"))
    assert set(errors) == {"arrival"}
    bad_activity = [{"kind": "party", "title": " ", "on": "soon"}]
    errors = refused("agree_commitment", good("agree_commitment", activities=bad_activity, agenda=""))
    assert set(errors) == {"activities.0.kind", "activities.0.title", "activities.0.on", "agenda"}
    data = validate_form("agree_commitment", good("agree_commitment"))
    assert data["arrival"] == "2025-05-05" and data["activities"][1]["on"] is None


@pytest.mark.parametrize(
    "task_id",
    ["sign_commitment_visitor", "sign_commitment_host", "sign_commitment_visitor_officer", "sign_commitment_host_officer"],
)
def test_signature_must_be_ticked_by_a_named_signatory(task_id):
    errors = refused(task_id, {"signed": False, "signatory_name": " "})
    assert errors == {"signed": "must be ticked to sign", "signatory_name": "must not be blank"}
    assert form_for(task_id).model_json_schema()["properties"]["signed"]["const"] is True


def test_extension_consent_and_decision():
    assert validate_form("host_consent_extension", {"consent": False}) == {"consent": False, "comment": None}
    assert refused("decide_extension", {"approve": False}) == {"comment": "is required when the extension is refused"}
    assert validate_form("decide_extension", {"approve": True})["comment"] is None


def test_evidence_needs_unique_attended_days_and_an_attendance_certificate():
    errors = refused("submit_evidence", good("submit_evidence", attended_days=[]))
    assert set(errors) == {"attended_days"}
    errors = refused("submit_evidence", good("submit_evidence", attended_days=["2025-05-06", "2025-05-06"]))
    assert errors == {"attended_days": "must not list a day twice"}
    ticket = {**CERTIFICATE, "kind": "ticket"}
    errors = refused("submit_evidence", good("submit_evidence", documents=[ticket]))
    assert errors == {"documents": "must include the host's attendance certificate"}


def test_evidence_documents_are_checked_one_by_one():
    document = {"kind": "selfie", "filename": "", "sha256": "xyz", "size": 20 * 1024 * 1024 + 1}
    errors = refused("submit_evidence", good("submit_evidence", documents=[CERTIFICATE, document]))
    assert set(errors) == {"documents.1.kind", "documents.1.filename", "documents.1.sha256", "documents.1.size"}
    assert errors["documents.1.sha256"] == "must be 64 hexadecimal characters (a SHA-256 digest)"
    assert "documents.0.size" in refused("submit_evidence", good("submit_evidence", documents=[{**CERTIFICATE, "size": 0}]))


def test_evidence_survey_and_costs_are_bounded():
    errors = refused(
        "submit_evidence",
        good("submit_evidence", feedback_rating=6, matchmaking_meetings=-1, travel_costs="-1", accommodation_costs="1.005",
             subsistence_costs="lots"),
    )
    assert set(errors) == {
        "feedback_rating", "matchmaking_meetings", "travel_costs", "accommodation_costs", "subsistence_costs",
    }
    data = validate_form("submit_evidence", good("submit_evidence", travel_costs=Decimal("12.5"), accommodation_costs=80))
    assert (data["travel_costs"], data["accommodation_costs"], data["subsistence_costs"]) == ("12.50", "80.00", None)
    assert data["attended_days"] == sorted(data["attended_days"])
    assert data["documents"][0]["sha256"] == "ab" * 32


def test_evidence_validation_rules():
    assert refused("validate_evidence", {"decision": "return"}) == {"comment": "is required when returning the evidence"}
    assert refused("validate_evidence", {"decision": "accept", "override_amount": "500.00"}) == {
        "override_reason": "is required when overriding the amount"
    }
    for amount in ("-0.01", "1100.01", "12.345", "abc"):
        assert "override_amount" in refused(
            "validate_evidence", {"decision": "accept", "override_amount": amount, "override_reason": "Agreed"}
        )
    data = validate_form("validate_evidence", {"decision": "accept", "override_amount": 1100, "override_reason": "Cap"})
    assert data["override_amount"] == "1100.00"


def test_payment_approval_needs_a_comment_when_returned():
    assert refused("approve_payment", {"decision": "return"}) == {"comment": "is required when returning the claim"}
    assert "decision" in refused("approve_payment", {"decision": "pay"})


def test_bank_details_are_checked_with_schwifty_and_normalised():
    errors = refused("correct_bank_details", good("correct_bank_details", iban="DE89 3704 0044 0532 0130 01", bic="ZZ"))
    assert set(errors) == {"iban", "bic"}
    assert errors["iban"].startswith("IBAN is not valid")
    assert errors["bic"].startswith("BIC is not valid")
    assert "account_holder" in refused("correct_bank_details", good("correct_bank_details", account_holder=""))
    data = validate_form("correct_bank_details", good("correct_bank_details", bic=" "))
    assert data == {"iban": "DE89370400440532013000", "bic": None, "account_holder": "Cluster AB"}


def test_bank_verification_needs_a_comment_when_refused():
    assert refused("verify_bank_details", {"verified": False}) == {
        "comment": "is required when the details are not verified"
    }


# ------------------------------------------------------------------------------ call and hosting


def test_call_preparation_must_be_confirmed():
    assert refused("prepare_call", {"confirm": False}) == {"confirm": "must be ticked to confirm"}


def test_proposal_review_drops_distinct_proposal_ids():
    assert validate_form("review_proposals", {"confirm": True}) == {"confirm": True, "drop_proposals": [],
                                                                    "reassign": [], "comment": None}
    assert refused("review_proposals", {"confirm": True, "drop_proposals": [3, 3]}) == {
        "drop_proposals": "must not list a proposal twice"
    }
    assert set(refused("review_proposals", {"confirm": True, "drop_proposals": [0, "x"]})) == {
        "drop_proposals.0", "drop_proposals.1",
    }


def test_proposal_review_reassigns_each_visitor_once():
    move = {"visitor_application_id": 7, "host_application_id": 9}
    assert validate_form("review_proposals", {"confirm": True, "reassign": [move]})["reassign"] == [move]
    assert refused("review_proposals", {"confirm": True, "reassign": [move, {**move, "host_application_id": 4}]}) == {
        "reassign": "must not reassign a visitor twice"}
    assert set(refused("review_proposals", {"confirm": True, "reassign": [{"visitor_application_id": 0}]})) == {
        "reassign.0.visitor_application_id", "reassign.0.host_application_id"}


def test_host_rejection_needs_a_comment():
    assert refused("approve_host", {"decision": "reject"}) == {"comment": "is required when rejecting"}
    assert validate_form("approve_host", {"decision": "approve"}) == {"decision": "approve", "comment": None}


def test_a_list_item_is_named_as_people_count_it_from_one() -> None:
    assert spoken_field("documents.0.sha256") == "documents, item 1, sha256"
    assert spoken_field(["activities", 2, "date"]) == "activities, item 3, date" and spoken_field("") == ""
    with pytest.raises(FormError) as caught:
        validate_form("submit_evidence", {"documents": [{"kind": "attendance_certificate"}]})
    assert "documents, item 1, " in str(caught.value) and "documents.0" not in str(caught.value)
    assert any(e["field"].startswith("documents.0.") for e in caught.value.errors)  # the API's loc: JSON's 0


def test_a_registration_rejected_needs_a_reason_and_a_question_needs_its_text():
    assert refused("assess_registration", {"decision": "reject"}) == {
        "reason": "is required when rejecting: the applicant is told why"}
    assert refused("assess_registration", {"decision": "request_info", "reason": "x"}) == {
        "question": "is required when asking for information: what should the applicant tell you?"}
    assert validate_form("assess_registration", {"decision": "approve"}) == {
        "decision": "approve", "reason": None, "question": None}
    assert refused("answer_registration_question", {"information": "  "}) == {"information": "must not be blank"}
