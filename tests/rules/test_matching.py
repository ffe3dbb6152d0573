"""R-MATCH: feasible pairs, explained scores, and an optimal assignment under capacities."""
from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.eligibility import OrgFacts
from rules.errors import RuleInputError
from rules.matching import (
    PREFERRED_BONUS,
    HostOffer,
    VisitorCandidate,
    explain_fit,
    fit_score,
    propose_matches,
)
from rules.ruleset import get_rule_set

RS = get_rule_set("2026.1")
D0 = date(2026, 5, 4)


def visitor(app_id, country="DE", sectors=("digital",), wished=(), start=0, length=10, excluded=(),
            org_id=None, region=None):
    org = OrgFacts(id=org_id or 1000 + app_id, org_type="cluster_organisation", country=country,
                   region_category=region)
    return VisitorCandidate(app_id, org, frozenset(sectors), frozenset(wished), D0 + timedelta(days=start),
                            D0 + timedelta(days=start + length - 1), frozenset(excluded))


def host(app_id, country="FR", sectors=("digital",), capacity=1, start=0, length=10, org_id=None, region=None):
    org = OrgFacts(id=org_id or 2000 + app_id, org_type="cluster_organisation", country=country,
                   region_category=region)
    return HostOffer(app_id, org, capacity, D0 + timedelta(days=start), D0 + timedelta(days=start + length - 1),
                     frozenset(sectors))


def test_a_perfect_pair_scores_every_component_and_names_them():
    v = visitor(1, sectors=("digital", "mobility"), wished=("FR",), region="less_developed")
    h = host(10, sectors=("digital", "mobility"), region="more_developed")
    explanation = explain_fit(v, h, RS)
    assert explanation["feasible"]
    points = {name: c["points"] for name, c in explanation["components"].items()}
    assert points == {"sector": Decimal("40.0000"), "country_wish": Decimal("30.0000"),
                      "date_overlap": Decimal("20.0000"), "region_bonus": Decimal("10.0000"),
                      "preferred": Decimal("0.0000")}
    assert fit_score(v, h, RS) == Decimal("100.0000")
    assert "preferred by the visitor" not in explanation["reasons"]


def test_partial_sector_overlap_scores_by_jaccard_and_partial_dates_by_share():
    v = visitor(1, sectors=("digital", "mobility"), start=0, length=10)
    h = host(10, sectors=("digital", "health", "textiles"), start=5, length=10)
    explanation = explain_fit(v, h, RS)
    assert explanation["components"]["sector"]["points"] == Decimal("10.0000")  # 1 shared of 4
    assert explanation["components"]["date_overlap"]["days"] == 5
    assert explanation["components"]["date_overlap"]["points"] == Decimal("10.0000")  # 5 of 10 days
    assert explanation["score"] == Decimal("20.0000")


@pytest.mark.parametrize("a, b, bonus", [
    ("less_developed", "more_developed", True), ("transition", "more_developed", True),
    ("more_developed", "less_developed", True), ("less_developed", "transition", False),
    ("more_developed", "more_developed", False), (None, "more_developed", False),
])
def test_the_region_bonus_rewards_pairing_different_development_categories(a, b, bonus):
    explanation = explain_fit(visitor(1, region=a), host(10, region=b), RS)
    assert explanation["components"]["region_bonus"]["applies"] is bonus


@pytest.mark.parametrize("v, h, code", [
    (visitor(1, country="FR"), host(10, country="FR"), "SAME_COUNTRY"),
    (visitor(1, country="EL"), host(10, country="GR"), "SAME_COUNTRY"),
    (visitor(1, org_id=7), host(10, org_id=7), "SAME_ORGANISATION"),
    (visitor(1, excluded=(10,)), host(10), "HOST_EXCLUDED"),
    (visitor(1, start=0, length=10), host(10, start=6, length=10), "DATES_DO_NOT_OVERLAP"),
])
def test_infeasible_pairs_have_no_score_and_say_why(v, h, code):
    assert fit_score(v, h, RS) is None
    assert code in explain_fit(v, h, RS)["infeasible"]


def test_dates_must_overlap_by_the_minimum_working_days_plus_two_travel_days():
    assert fit_score(visitor(1, start=0, length=10), host(10, start=5, length=10), RS) is not None  # 5 days
    assert fit_score(visitor(1, start=0, length=10), host(10, start=6, length=10), RS) is None  # 4 days


def test_the_solver_beats_greedy_first_come_assignment():
    # Greedy would give visitor 1 its best host A, leaving visitor 2 with nothing feasible.
    v1 = visitor(1, sectors=("digital",), wished=("FR", "IT"))
    v2 = visitor(2, sectors=("digital",), wished=("FR",), start=0, length=10)
    a = host(10, country="FR")
    b = host(11, country="IT", sectors=("health",))
    # v2 cannot go to B (excluded), so the optimum sends v1 to B and v2 to A.
    v2 = VisitorCandidate(**{**v2.__dict__, "excluded_hosts": frozenset({11})})
    result = propose_matches([v1, v2], [a, b], RS)
    assert {(p.visitor_application_id, p.host_application_id) for p in result.proposals} == {(1, 11), (2, 10)}
    assert result.unmatched == ()


def test_host_capacity_is_respected_and_the_rest_are_unmatched():
    visitors = [visitor(i) for i in range(1, 5)]
    result = propose_matches(visitors, [host(10, capacity=2)], RS)
    assert len(result.proposals) == 2
    assert len(result.unmatched) == 2
    assert result.total_score == sum(p.score for p in result.proposals)


def test_a_feasible_pair_with_zero_score_is_still_proposed_rather_than_leaving_a_visitor_unmatched():
    zero = RS.__class__(version="flat", match_weight_sector=0, match_weight_country_wish=0,
                        match_weight_date_overlap=0, match_bonus_region_category=0)
    result = propose_matches([visitor(1)], [host(10)], zero)
    assert [(p.visitor_application_id, p.score) for p in result.proposals] == [(1, Decimal("0.0000"))]


def test_the_proposals_do_not_depend_on_the_order_of_the_candidates():
    visitors = [visitor(i, sectors=("digital",)) for i in range(1, 5)]
    hosts = [host(10, capacity=2), host(11, country="IT")]
    first = propose_matches(visitors, hosts, RS)
    again = propose_matches(list(reversed(visitors)), list(reversed(hosts)), RS)
    assert first == again


def test_nothing_to_match_gives_an_empty_result():
    assert propose_matches([], [host(10)], RS).proposals == ()
    assert propose_matches([visitor(1)], [], RS).unmatched == (1,)
    assert propose_matches([visitor(1)], [host(10, capacity=0)], RS).unmatched == (1,)


@pytest.mark.parametrize("visitors, hosts, field", [
    ([visitor(1), visitor(1)], [host(10)], "visitors.application_id"),
    ([visitor(1)], [host(10), host(10)], "hosts.application_id"),
    ([visitor(1)], [host(10, capacity=-1)], "hosts[10].capacity"),
    ([visitor(1, length=0)], [host(10)], "visitor.date_to"),
])
def test_malformed_candidates_are_refused(visitors, hosts, field):
    with pytest.raises(RuleInputError) as caught:
        propose_matches(visitors, hosts, RS)
    assert caught.value.field == field


def test_the_result_serialises_with_the_explanation():
    document = propose_matches([visitor(1, wished=("FR",))], [host(10)], RS).to_dict()
    assert document["proposals"][0]["score"] == "90.0000"
    assert document["proposals"][0]["explanation"]["components"]["country_wish"]["hit"] is True


# --- properties: constraints always hold, and the total equals the brute-force optimum ---------------

COUNTRIES = ["DE", "FR", "IT"]
SECTORS = ["digital", "health", "mobility", "textiles"]
CATEGORIES = [None, "less_developed", "transition", "more_developed"]


@st.composite
def market(draw):
    n_visitors = draw(st.integers(0, 5))
    n_hosts = draw(st.integers(0, 3))
    hosts = [
        host(10 + j, country=draw(st.sampled_from(COUNTRIES)),
             sectors=draw(st.sets(st.sampled_from(SECTORS), max_size=3)),
             capacity=draw(st.integers(0, 2)), start=draw(st.integers(0, 10)), length=draw(st.integers(1, 12)),
             org_id=draw(st.sampled_from([None, 1])), region=draw(st.sampled_from(CATEGORIES)))
        for j in range(n_hosts)
    ]
    visitors = [
        visitor(1 + i, country=draw(st.sampled_from(COUNTRIES)),
                sectors=draw(st.sets(st.sampled_from(SECTORS), max_size=3)),
                wished=draw(st.sets(st.sampled_from(COUNTRIES), max_size=2)),
                start=draw(st.integers(0, 10)), length=draw(st.integers(1, 12)),
                excluded=draw(st.sets(st.sampled_from([10, 11, 12]), max_size=1)),
                org_id=draw(st.sampled_from([None, 1])), region=draw(st.sampled_from(CATEGORIES)))
        for i in range(n_visitors)
    ]
    return visitors, hosts


def brute_force_best(visitors, hosts):
    """The best total score over every feasible assignment (each visitor to a host or to nobody)."""
    choices = [[None] + [h for h in hosts if fit_score(v, h, RS) is not None] for v in visitors]
    best = Decimal("0.0000")
    for combo in itertools.product(*choices):
        load = {}
        for h in combo:
            if h is not None:
                load[h.application_id] = load.get(h.application_id, 0) + 1
        if any(load[h.application_id] > h.capacity for h in hosts if h.application_id in load):
            continue
        total = sum((fit_score(v, h, RS) for v, h in zip(visitors, combo, strict=True) if h is not None), Decimal(0))
        best = max(best, total)
    return best


@settings(max_examples=120, deadline=None)
@given(market())
def test_the_assignment_never_breaks_a_constraint_and_equals_the_brute_force_optimum(data):
    visitors, hosts = data
    result = propose_matches(visitors, hosts, RS)
    by_v = {v.application_id: v for v in visitors}
    by_h = {h.application_id: h for h in hosts}
    load: dict[int, int] = {}
    for p in result.proposals:
        v, h = by_v[p.visitor_application_id], by_h[p.host_application_id]
        load[h.application_id] = load.get(h.application_id, 0) + 1
        assert v.org.country != h.org.country
        assert v.org.id != h.org.id
        assert h.application_id not in v.excluded_hosts
        assert (min(v.date_to, h.date_to) - max(v.date_from, h.date_from)).days + 1 >= RS.min_working_days + 2
        assert p.score == fit_score(v, h, RS)
    assert all(load[h_id] <= by_h[h_id].capacity for h_id in load)
    matched = [p.visitor_application_id for p in result.proposals]
    assert len(matched) == len(set(matched))
    assert sorted(matched + list(result.unmatched)) == sorted(by_v)
    assert result.total_score == brute_force_best(visitors, hosts)


def prefer(v: VisitorCandidate, *host_ids: int) -> VisitorCandidate:
    return dataclasses.replace(v, preferred_hosts=frozenset(host_ids))


def test_a_preferred_offer_gets_the_bonus_and_the_proposal_names_it():
    v, h = prefer(visitor(1), 10), host(10)
    explanation = explain_fit(v, h, RS)
    assert explanation["components"]["preferred"] == {"applies": True, "points": PREFERRED_BONUS}
    assert fit_score(v, h, RS) == fit_score(visitor(1), h, RS) + PREFERRED_BONUS
    assert "preferred by the visitor" in explanation["reasons"]
    proposal = propose_matches([v], [h], RS).proposals[0]
    assert "preferred by the visitor" in proposal.explanation["reasons"]


def test_the_bonus_turns_the_choice_to_the_preferred_offer_of_two_alike():
    hosts = [host(10, sectors=("digital", "health")), host(11, sectors=("digital", "health"))]
    plain = propose_matches([visitor(1, sectors=("digital", "health"))], hosts, RS)
    assert plain.proposals[0].host_application_id == 10          # equal scores: the first offer
    chosen = propose_matches([prefer(visitor(1, sectors=("digital", "health")), 11)], hosts, RS)
    assert chosen.proposals[0].host_application_id == 11


def test_a_preference_never_makes_an_infeasible_pair_possible():
    v = prefer(visitor(1, country="FR"), 10)
    assert fit_score(v, host(10, country="FR"), RS) is None
    assert propose_matches([v], [host(10, country="FR")], RS).proposals == ()


@st.composite
def market_with_preferences(draw):
    visitors, hosts = draw(market())
    ids = [h.application_id for h in hosts]
    visitors = [prefer(v, *draw(st.sets(st.sampled_from(ids), max_size=3))) if ids else v for v in visitors]
    return visitors, hosts


@settings(max_examples=120, deadline=None)
@given(market_with_preferences())
def test_with_preferences_the_assignment_stays_optimal_for_the_scores_with_their_bonus(data):
    visitors, hosts = data
    result = propose_matches(visitors, hosts, RS)
    by_v = {v.application_id: v for v in visitors}
    by_h = {h.application_id: h for h in hosts}
    for p in result.proposals:
        v, h = by_v[p.visitor_application_id], by_h[p.host_application_id]
        assert p.score == fit_score(v, h, RS)      # the score proposed includes the bonus
        assert ("preferred by the visitor" in p.explanation["reasons"]) == (h.application_id in v.preferred_hosts)
    assert result.total_score == brute_force_best(visitors, hosts)
