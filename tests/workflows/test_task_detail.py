"""The task detail (`GET /api/tasks/{id}`, `cxp task show`): an exchange driven to each decision, and
what the officer deciding sees — the figures of the rules, who may act, nothing of another
partnership, nothing written."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from tasks.forms import FORMS
from tests.workflows.builders import (  # noqa: F401
    ADMIN,
    BRUSSELS,
    DEPARTURE,
    HOST,
    OFFICER,
    SECOND_OFFICER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    evidence,
    programme,
)
from workflows.services import NotFound
from workflows.services.access import principal_by_name
from workflows.services.exchanges import request_extension
from workflows.services.task_detail import TaskDetail, mask_iban, task_detail

# A stay over Easter 2027 in Vienna: Sunday 28 March (travel) to Tuesday 6 April (travel), with
# Easter Monday (29 March) a public holiday in Austria and the weekend of 3-4 April in between.
EASTER_ARRIVAL, EASTER_DEPARTURE = date(2027, 3, 28), date(2027, 4, 6)
WORKING = [date(2027, 3, 30), date(2027, 3, 31), date(2027, 4, 1), date(2027, 4, 2), date(2027, 4, 5)]


def detail(prog: Programme, spec: str, username: str, instance_id: int | None = None) -> TaskDetail:
    return task_detail(prog.app, principal_by_name(prog.app, username), prog.open_task(spec, instance_id).id)


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 20, 0, tzinfo=BRUSSELS)


def at_validation(prog: Programme) -> Programme:
    """The Easter visit done; the visitor reports four of the five working days attended (not 2 April)."""
    prog.submit_visitor_application().assessed().matched().committed(EASTER_ARRIVAL, EASTER_DEPARTURE)
    prog.advance_to(evening(EASTER_DEPARTURE))
    prog.complete("submit_evidence", VISITOR, evidence(attended=[d for d in WORKING if d != date(2027, 4, 2)]))
    return prog


def test_the_evidence_validation_shows_every_counted_and_excluded_day_and_the_grant_they_imply(
        programme: Programme) -> None:  # noqa: F811
    shown = detail(at_validation(programme), "validate_evidence", OFFICER)

    assert (shown.task, shown.subject, shown.process, shown.can_act) == (
        "validate_evidence", programme.exchange_ref, "exchange", True)
    context = shown.context
    assert context.kind == "evidence_validation"
    days = context.working_days
    assert (days.country, days.working_days) == ("AT", 4)
    assert days.counted == [d for d in WORKING if d != date(2027, 4, 2)]
    excluded = {e.day: e.reason for e in days.excluded}
    assert excluded == {
        date(2027, 3, 28): "travel_day", date(2027, 3, 29): "holiday:Easter Monday",
        date(2027, 4, 2): "not_attended", date(2027, 4, 3): "weekend", date(2027, 4, 4): "weekend",
        date(2027, 4, 6): "travel_day"}
    grant = context.grant
    assert grant.amount == Decimal("550.00") and grant.reasons == ["HALVED_FEW_DAYS"]
    assert grant.threshold == Decimal("1100.00") and grant.distance_km > 200
    assert [(c.kind, c.present) for c in context.checklist] == [("attendance_certificate", True)]
    assert {d.kind for d in context.documents} == {"attendance_certificate", "boarding_pass"}
    assert shown.model_dump(mode="json")["context"]["grant"]["amount"] == "550.00"


def test_the_payment_approval_shows_the_claim_its_validator_the_masked_account_and_who_may_approve(
        programme: Programme) -> None:  # noqa: F811
    at_validation(programme).complete("validate_evidence", OFFICER, accept_evidence())

    by_validator = detail(programme, "approve_payment", OFFICER)
    assert not by_validator.can_act and "validated the evidence" in by_validator.why_not
    context = by_validator.context
    assert context.kind == "payment_approval"
    assert (context.amount, context.computation.amount) == (Decimal("550.00"), Decimal("550.00"))
    assert context.computation.reasons == ["HALVED_FEW_DAYS"] and context.override is None
    assert context.validated_by == OFFICER and context.validated_at is not None
    assert context.bank.iban_masked == "**** **** **** 6769" and "BE71" not in context.model_dump_json()
    assert context.four_eyes.may_approve is False
    assert "validated the evidence" in context.four_eyes.why_not

    by_second = detail(programme, "approve_payment", SECOND_OFFICER)
    assert by_second.can_act and by_second.context.four_eyes.may_approve and by_second.why_not is None


def test_an_override_names_who_proposed_it(programme: Programme) -> None:  # noqa: F811
    at_validation(programme).complete("validate_evidence", OFFICER, {
        **accept_evidence(), "override_amount": "700.00", "override_reason": "Attendance of 2 April proven later."})
    context = detail(programme, "approve_payment", SECOND_OFFICER).context
    assert context.amount == Decimal("700.00") and context.computation.amount == Decimal("550.00")
    assert (context.override.amount, context.override.proposed_by) == (Decimal("700.00"), OFFICER)


def test_the_extension_decision_shows_the_stay_now_and_asked_for_against_the_one_month_rule(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched().committed()
    programme.advance_to(datetime(2027, 2, 8, 10, 0, tzinfo=BRUSSELS))
    new_departure = DEPARTURE + timedelta(days=7)
    request_extension(programme.app, programme.exchange_ref, programme.principal(VISITOR), new_departure, "A second matchmaking round.")

    consent = detail(programme, "host_consent_extension", HOST).context
    assert consent.kind == "extension" and consent.host_consent is None
    programme.complete("host_consent_extension", HOST, {"consent": True, "comment": "Welcome."})
    context = detail(programme, "decide_extension", OFFICER).context

    assert (context.arrival, context.departure, context.requested_departure) == (
        date(2027, 2, 7), DEPARTURE, new_departure)
    assert (context.reason, context.requested_by, context.host_consent) == (
        "A second matchmaking round.", VISITOR, True)
    assert (context.working_days_now, context.new_working_days, context.new_total_days) == (5, 10, 14)
    assert context.fits_duration is True and context.duration_reasons == []
    assert context.latest_departure == date(2027, 3, 7)


def test_the_match_review_shows_each_proposed_pair_with_its_fit_and_both_organisations(
        programme: Programme) -> None:  # noqa: F811
    from workflows.services.lifecycle import start

    programme.submit_visitor_application().assessed()
    with programme.app.uow() as uow:
        call_instance = start(programme.app, uow, "call", "call", programme.call_id, {
            "call_id": programme.call_id, "partnership_id": programme.north_id, "subject_ref": "CXP-TEST-01"}).id
        uow.commit()
    programme.complete("prepare_call", ADMIN, {"confirm": True}, instance_id=call_instance)
    programme.advance_to(datetime(2027, 3, 6, 10, 0, tzinfo=BRUSSELS))  # the call closed on 5 March, 18:00

    shown = detail(programme, "review_proposals", OFFICER, call_instance)
    context = shown.context
    assert (context.kind, context.call, context.round) == ("match_review", "CXP-TEST-01", 1)
    [pair] = context.proposals
    assert pair.exchange == programme.exchange_ref and pair.score > 0
    assert set(pair.explanation["components"]) >= {"sector", "country_wish", "date_overlap", "region_bonus"}
    assert (pair.visitor.legal_name, pair.visitor.country, pair.host.legal_name, pair.host.city) == (
        "Nova Cluster Brussels", "BE", "Helix Cluster Vienna", "Vienna")
    assert pair.host.org_type == "cluster_organisation" and "digital" in pair.host.sectors
    assert pair.visitor_dates == (date(2027, 2, 1), date(2027, 3, 1)) and 850 < pair.distance_km < 1000
    with pytest.raises(NotFound):
        detail(programme, "review_proposals", SOUTH_OFFICER, call_instance)


def test_the_assessment_shows_the_eligibility_result_and_the_organisation(programme: Programme) -> None:  # noqa: F811
    shown = detail(programme.submit_visitor_application(), "assess_application", OFFICER)
    context = shown.context
    assert (context.kind, context.ok, context.reasons, context.role) == ("eligibility", True, [], "visitor")
    assert context.organisation.legal_name == "Nova Cluster Brussels"
    assert context.checked["country"] == "BE" and context.declaration_given


def test_an_applicant_step_shows_the_match_the_host_and_what_is_asked_with_the_known_values(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().propose_match()
    accept = detail(programme, "visitor_accept_match", VISITOR)
    assert accept.context.kind == "visit" and accept.context.host.legal_name == "Helix Cluster Vienna"
    assert accept.context.proposal.score == Decimal("0.8") and "accepts or declines" in accept.context.asked

    programme.complete("visitor_accept_match", VISITOR, {"accept": True, "reason": None})
    programme.complete("host_accept_match", HOST, {"accept": True, "reason": None})
    programme.committed(EASTER_ARRIVAL, EASTER_DEPARTURE).advance_to(evening(EASTER_DEPARTURE))
    report = detail(programme, "submit_evidence", VISITOR)
    assert report.form_defaults == {"attended_days": [d.isoformat() for d in WORKING]}
    assert (report.context.arrival, report.context.departure) == (EASTER_ARRIVAL, EASTER_DEPARTURE)


def test_an_officer_of_the_other_partnership_and_an_unrelated_applicant_learn_nothing(
        programme: Programme) -> None:  # noqa: F811
    task = programme.submit_visitor_application().open_task("assess_application")
    for outsider in (SOUTH_OFFICER, HOST):
        with pytest.raises(NotFound, match=f"task {task.id} does not exist"):
            task_detail(programme.app, principal_by_name(programme.app, outsider), task.id)
    with pytest.raises(NotFound, match="task 999999 does not exist"):
        task_detail(programme.app, principal_by_name(programme.app, OFFICER), 999999)


def test_an_auditor_reads_the_task_but_may_not_act_on_it_and_reading_writes_nothing(
        programme: Programme) -> None:  # noqa: F811
    from workflows.services.access import SYSTEM

    programme.submit_visitor_application()
    before = programme.snapshot()
    shown = task_detail(programme.app, SYSTEM, programme.open_task("assess_application").id)
    assert not shown.can_act and shown.why_not
    seen = detail(programme, "assess_application", ADMIN)
    assert seen.context.kind == "eligibility"
    assert programme.snapshot() == before


def test_a_context_the_rules_cannot_judge_is_named_and_the_task_is_still_shown(
        programme: Programme) -> None:  # noqa: F811
    from workflows.db.models import Organisation

    at_validation(programme)
    with programme.app.uow() as uow:
        uow.session.get(Organisation, programme.host_org_id).subdivision = "ZZ"
        uow.commit()
    shown = detail(programme, "validate_evidence", OFFICER)
    assert shown.context is None and shown.can_act
    assert shown.context_problem.startswith("subdivision: 'ZZ' is not a subdivision of AT")


@pytest.mark.parametrize("spec", sorted(FORMS))
def test_every_form_schema_has_a_title_and_a_description_per_property(spec: str) -> None:
    schema = FORMS[spec].model_json_schema()
    models = [schema, *schema.get("$defs", {}).values()]
    for model in models:
        for name, prop in model.get("properties", {}).items():
            assert prop.get("title") and prop.get("description"), f"{spec}: {name}"


def test_an_iban_is_masked_but_its_last_four_characters() -> None:
    assert mask_iban("AT61 1904 3002 3457 3201") == "**** **** **** **** 3201"
    assert mask_iban(None) is None


def test_the_detail_names_whom_the_caller_may_hand_the_task_to(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    assert [c.username for c in detail(programme, "assess_application", OFFICER).reassign_to] == [SECOND_OFFICER]
    # an administrator hands it to any officer of its partnership; an auditor and the applicant to no one
    assert {c.username for c in detail(programme, "assess_application", ADMIN).reassign_to} == {OFFICER, SECOND_OFFICER}
    assert detail(programme, "assess_application", "auditor").reassign_to == []
