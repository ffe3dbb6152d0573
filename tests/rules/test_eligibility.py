"""R-ELIG: who may take part, with every failing reason at once."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from rules.eligibility import ApplicationFacts, CallWindow, OrgFacts, check_eligibility
from rules.errors import RuleInputError
from rules.ruleset import derive_rule_set, get_rule_set

RS = get_rule_set("2026.1")
WINDOW = CallWindow(date(2026, 1, 15), date(2026, 3, 31))
CLUSTER = OrgFacts(id=1, org_type="cluster_organisation", country="DE")
HOST = OrgFacts(id=2, org_type="cluster_organisation", country="FR")
VISIT = ApplicationFacts(role="visitor", submitted_on=date(2026, 2, 1), declaration_given=True,
                        audit_rights_accepted=True)
HOSTING = replace(VISIT, role="host")


def check(org=CLUSTER, app=VISIT, window=WINDOW, prior=0, counterpart=None, rule_set=RS):
    return check_eligibility(org, app, window, rule_set, prior, counterpart)


def test_a_cluster_organisation_applying_in_time_with_a_declaration_is_eligible():
    decision = check(counterpart=HOST)
    assert decision.ok and decision.reasons == ()
    assert decision.inputs["rule_set_version"] == "2026.1"


@pytest.mark.parametrize("org_type", ["cluster_organisation", "sme", "scaleup_support_organisation"])
def test_the_three_organisation_types_are_eligible(org_type):
    org = replace(CLUSTER, org_type=org_type, cluster_member=True)
    assert "ORG_TYPE" not in check(org).codes


def test_a_university_is_not_an_eligible_organisation_type():
    decision = check(replace(CLUSTER, org_type="university"))
    assert decision.codes == ["ORG_TYPE"]
    assert "university" in decision.reasons[0].message


@pytest.mark.parametrize("country", ["US", "GB", "CH", "??"])
def test_an_organisation_outside_the_eligible_countries_is_refused(country):
    assert check(replace(CLUSTER, country=country)).codes == ["COUNTRY"]


@pytest.mark.parametrize("country", ["EL", "GR", "XK", "UA", "TR", "IS", "de"])
def test_eligible_countries_include_greece_as_el_and_the_associated_countries(country):
    assert check(replace(CLUSTER, country=country)).ok


def test_a_call_may_narrow_its_eligible_countries():
    eu_only = derive_rule_set(RS, "eu-only", {"eligible_countries": ["DE", "FR"]})
    assert check(replace(CLUSTER, country="TR"), rule_set=eu_only).codes == ["COUNTRY"]


def test_a_visiting_sme_must_be_a_cluster_member():
    sme = replace(CLUSTER, org_type="sme", cluster_member=False)
    assert check(sme).codes == ["SME_NOT_CLUSTER_MEMBER"]
    assert check(replace(sme, cluster_member=True)).ok


def test_a_non_member_sme_may_host_only_with_a_recorded_prior_approval():
    sme = replace(CLUSTER, org_type="sme", cluster_member=False)
    assert check(sme, HOSTING).codes == ["HOST_NEEDS_APPROVAL"]
    assert check(replace(sme, host_prior_approval=True), HOSTING).ok
    assert check(replace(sme, cluster_member=True), HOSTING).ok


def test_visitor_and_host_in_the_same_country_are_refused():
    assert check(counterpart=replace(HOST, country="DE")).codes == ["SAME_COUNTRY"]
    assert check(replace(CLUSTER, country="EL"), counterpart=replace(HOST, country="GR")).codes == [
        "SAME_COUNTRY"]


def test_an_organisation_may_visit_only_once():
    assert check(prior=1).codes == ["ALREADY_VISITED"]
    assert check(prior=0).ok


def test_an_organisation_may_host_many_times():
    assert check(app=HOSTING, prior=7).ok


@pytest.mark.parametrize("submitted, ok", [
    (date(2026, 1, 14), False), (date(2026, 1, 15), True), (date(2026, 3, 31), True), (date(2026, 4, 1), False),
])
def test_the_call_window_includes_its_first_and_last_day(submitted, ok):
    decision = check(app=replace(VISIT, submitted_on=submitted))
    assert decision.ok is ok
    assert ("CALL_CLOSED" in decision.codes) is not ok


def test_an_application_without_the_declaration_on_honour_is_refused():
    assert check(app=replace(VISIT, declaration_given=False,
                          audit_rights_accepted=True)).codes == ["NO_DECLARATION"]


def test_every_failing_reason_is_reported_not_just_the_first():
    org = OrgFacts(id=3, org_type="sme", country="DE", cluster_member=False)
    app = ApplicationFacts(role="visitor", submitted_on=date(2026, 5, 1), declaration_given=False,
                          audit_rights_accepted=True)
    decision = check(org, app, prior=1, counterpart=replace(HOST, country="DE"))
    assert decision.codes == ["SME_NOT_CLUSTER_MEMBER", "SAME_COUNTRY", "ALREADY_VISITED",
                              "CALL_CLOSED", "NO_DECLARATION"]
    assert all(reason.message for reason in decision.reasons)
    document = decision.to_dict()
    assert document["ok"] is False
    assert document["inputs"]["submitted_on"] == "2026-05-01"


@pytest.mark.parametrize("kwargs, field", [
    ({"app": replace(VISIT, role="guest")}, "role"),
    ({"app": replace(VISIT, format="party")}, "format"),
    ({"prior": -1}, "prior_visits"),
    ({"window": CallWindow(date(2026, 3, 1), date(2026, 2, 1))}, "closes_on"),
])
def test_malformed_input_is_refused_naming_the_field(kwargs, field):
    with pytest.raises(RuleInputError) as caught:
        check(**kwargs)
    assert caught.value.field == field


# ---- one live application at a time, formats, audit rights (issue 10) -----------------------------
def test_a_second_live_visitor_application_is_refused_as_a_duplicate():
    decision = check_eligibility(CLUSTER, VISIT, WINDOW, RS, 0, live_applications=1)
    assert decision.codes == ["DUPLICATE_APPLICATION"]
    assert decision.inputs["live_applications"] == 1


def test_a_host_may_offer_while_it_has_other_applications():
    assert check_eligibility(CLUSTER, HOSTING, WINDOW, RS, 0, live_applications=3).ok


def test_a_format_the_call_does_not_allow_is_refused_with_its_own_reason():
    fair = replace(VISIT, format="conference_fair")
    decision = check(app=fair, window=replace(WINDOW, formats=frozenset({"exchange_visit"})))
    assert decision.codes == ["FORMAT_NOT_ALLOWED"]
    assert decision.reasons[0].details == {"format": "conference_fair", "allowed": ["exchange_visit"]}
    assert check(app=fair, window=replace(WINDOW, formats=frozenset({"exchange_visit", "conference_fair"}))).ok


def test_a_call_without_formats_cannot_be_judged():
    with pytest.raises(RuleInputError, match="formats"):
        check(window=replace(WINDOW, formats=frozenset()))


def test_audit_rights_must_be_accepted_like_the_declaration_on_honour():
    decision = check(app=replace(VISIT, audit_rights_accepted=False, declaration_given=False))
    assert decision.codes == ["NO_DECLARATION", "NO_AUDIT_RIGHTS"]
