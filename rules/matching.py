"""R-MATCH: an optimal assignment of visitors to host offers.

A pair is *feasible* when visitor and host are in different countries, are different organisations,
the host was not declined by the visitor before (``excluded_hosts`` holds host **application** ids),
and their dates overlap by at least ``min_working_days + 2`` days (the working days plus two travel
days). R-ELIG is checked before candidates reach the matcher.

The fit score of a feasible pair is the sum of four components, each named in the explanation:

- ``sector``: ``match_weight_sector`` x Jaccard overlap of the visitor's and the offer's sectors;
- ``country_wish``: ``match_weight_country_wish`` when the host's country is one the visitor wished;
- ``date_overlap``: ``match_weight_date_overlap`` x the share of the visitor's wished days the host
  is available;
- ``region_bonus``: ``match_bonus_region_category`` when one side is ``less_developed`` or
  ``transition`` and the other ``more_developed``;
- ``preferred``: ``PREFERRED_BONUS`` when the visitor marked this host offer among its (at most three)
  preferred offers (``preferred_hosts`` holds host **application** ids). The explanation's ``reasons``
  then name it ("preferred by the visitor") among the pair's reasons in words.

`propose_matches` maximises the total score subject to host capacities with
`scipy.optimize.linear_sum_assignment` over host slots (one column per unit of capacity). Among
assignments of equal score it prefers the one that matches more visitors. Infeasible pairs get the
cost of "not matched" and are dropped from the solver's answer, so they are never proposed. Inputs
are sorted by application id first: the same candidates give the same proposals in any order.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rules.eligibility import OrgFacts
from rules.errors import RuleInputError
from rules.explain import jsonable
from rules.ruleset import RuleSet
from rules.values import normalise_country, to_count, to_date

SCORE_QUANTUM = Decimal("0.0001")
LESS_DEVELOPED = frozenset({"less_developed", "transition"})
MORE_DEVELOPED = frozenset({"more_developed"})
_FLOAT_EXACT = 2**53
# The bonus of a pair the visitor marked as preferred: below a country wish (30), so that a preference
# weighs like a strong hint, never like a different programme rule.
PREFERRED_BONUS = Decimal("15")
MAX_PREFERRED = 3


@dataclass(frozen=True)
class VisitorCandidate:
    application_id: int
    org: OrgFacts
    sectors: frozenset[str]
    wished_countries: frozenset[str]
    date_from: date
    date_to: date
    excluded_hosts: frozenset[int] = frozenset()
    preferred_hosts: frozenset[int] = frozenset()


@dataclass(frozen=True)
class HostOffer:
    application_id: int
    org: OrgFacts
    capacity: int
    date_from: date
    date_to: date
    sectors: frozenset[str]


@dataclass(frozen=True)
class Proposal:
    visitor_application_id: int
    host_application_id: int
    score: Decimal
    explanation: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"visitor_application_id": self.visitor_application_id,
                "host_application_id": self.host_application_id, "score": str(self.score),
                "explanation": jsonable(self.explanation)}


@dataclass(frozen=True)
class MatchResult:
    proposals: tuple[Proposal, ...]
    unmatched: tuple[int, ...]
    total_score: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {"proposals": [p.to_dict() for p in self.proposals], "unmatched": list(self.unmatched),
                "total_score": str(self.total_score)}


def _points(weight: Decimal, numerator: int, denominator: int) -> Decimal:
    if denominator == 0 or numerator == 0:
        return Decimal("0.0000")
    return (weight * numerator / denominator).quantize(SCORE_QUANTUM, rounding=ROUND_HALF_UP)


def _window(field: str, start: date, end: date) -> tuple[date, date]:
    start, end = to_date(f"{field}.date_from", start), to_date(f"{field}.date_to", end)
    if end < start:
        raise RuleInputError(f"{field}.date_to", f"{end} is before {start}")
    return start, end


@dataclass(frozen=True)
class _Side:
    """One side of a pair, checked and normalised once (not once per pair)."""

    app_id: int
    org_id: int
    country: str
    start: date
    end: date
    sectors: frozenset[str]
    region: str | None
    wished: frozenset[str] = frozenset()
    excluded: frozenset[int] = frozenset()
    preferred: frozenset[int] = frozenset()


def _visitor_side(v: VisitorCandidate) -> _Side:
    start, end = _window("visitor", v.date_from, v.date_to)
    wished = frozenset(normalise_country("wished_countries", c) for c in v.wished_countries)
    return _Side(v.application_id, v.org.id, normalise_country("visitor.country", v.org.country), start, end,
                 frozenset(v.sectors), v.org.region_category, wished, frozenset(v.excluded_hosts),
                 frozenset(v.preferred_hosts))


def _host_side(h: HostOffer) -> _Side:
    start, end = _window("host", h.date_from, h.date_to)
    return _Side(h.application_id, h.org.id, normalise_country("host.country", h.org.country), start, end,
                 frozenset(h.sectors), h.org.region_category)


def _assess(v: _Side, h: _Side, rule_set: RuleSet, explain: bool) -> tuple[Decimal | None, dict[str, Any]]:
    """The score of a pair (None when infeasible) and, when asked, its explanation."""
    start, end = max(v.start, h.start), min(v.end, h.end)
    overlap = max(0, (end - start).days + 1)
    needed = rule_set.min_working_days + 2
    infeasible = [code for code, failed in (
        ("SAME_COUNTRY", v.country == h.country), ("SAME_ORGANISATION", v.org_id == h.org_id),
        ("HOST_EXCLUDED", h.app_id in v.excluded), ("DATES_DO_NOT_OVERLAP", overlap < needed)) if failed]
    if infeasible and not explain:
        return None, {}
    shared, union = v.sectors & h.sectors, v.sectors | h.sectors
    wish_hit = h.country in v.wished
    crosses = (v.region in LESS_DEVELOPED and h.region in MORE_DEVELOPED) or (
        v.region in MORE_DEVELOPED and h.region in LESS_DEVELOPED)
    wished_days = (v.end - v.start).days + 1
    preferred = h.app_id in v.preferred
    points = {
        "sector": _points(rule_set.match_weight_sector, len(shared), len(union)),
        "country_wish": _points(rule_set.match_weight_country_wish, int(wish_hit), 1),
        "date_overlap": _points(rule_set.match_weight_date_overlap, overlap, wished_days),
        "region_bonus": _points(rule_set.match_bonus_region_category, int(crosses), 1),
        "preferred": _points(PREFERRED_BONUS, int(preferred), 1),
    }
    score = None if infeasible else sum(points.values(), Decimal("0.0000"))
    if not explain:
        return score, {}
    components = {
        "sector": {"shared": shared, "visitor": v.sectors, "host": h.sectors, "points": points["sector"]},
        "country_wish": {"host_country": h.country, "wished": v.wished, "hit": wish_hit,
                         "points": points["country_wish"]},
        "date_overlap": {"from": start if overlap else None, "to": end if overlap else None, "days": overlap,
                         "visitor_days": wished_days, "min_days": needed, "points": points["date_overlap"]},
        "region_bonus": {"visitor": v.region, "host": h.region, "applies": crosses,
                         "points": points["region_bonus"]},
        "preferred": {"applies": preferred, "points": points["preferred"]},
    }
    return score, {"feasible": not infeasible, "infeasible": infeasible, "components": components,
                   "score": score, "rule_set_version": rule_set.version,
                   "reasons": _reasons(components, infeasible)}


_INFEASIBLE = {"SAME_COUNTRY": "both are in the same country", "SAME_ORGANISATION": "it is the same organisation",
               "HOST_EXCLUDED": "the visitor declined this host before",
               "DATES_DO_NOT_OVERLAP": "the dates overlap too little for the shortest visit"}


def _reasons(c: dict[str, Any], infeasible: list[str]) -> list[str]:
    """The pair's fit in words, one sentence per component that scored (or why it cannot be proposed)."""
    if infeasible:
        return [f"not possible: {_INFEASIBLE[code]}" for code in infeasible]
    out = []
    if c["sector"]["shared"]:
        out.append(f"shared sectors: {', '.join(s.replace('_', ' ') for s in sorted(c['sector']['shared']))}")  # in words
    if c["country_wish"]["hit"]:
        out.append(f"in a country the visitor wished ({c['country_wish']['host_country']})")
    out.append(f"available {c['date_overlap']['days']} of the visitor's {c['date_overlap']['visitor_days']} "
               "wished days")
    if c["region_bonus"]["applies"]:
        out.append("links a less developed or transition region with a more developed one")
    if c["preferred"]["applies"]:
        out.append("preferred by the visitor")
    return out


def explain_fit(visitor: VisitorCandidate, host: HostOffer, rule_set: RuleSet) -> dict[str, Any]:
    """Why a pair is feasible or not, and every component of its score."""
    return _assess(_visitor_side(visitor), _host_side(host), rule_set, explain=True)[1]


def fit_score(visitor: VisitorCandidate, host: HostOffer, rule_set: RuleSet) -> Decimal | None:
    """The pair's fit score, or None when the pair is infeasible."""
    return _assess(_visitor_side(visitor), _host_side(host), rule_set, explain=False)[0]


def _check_ids(kind: str, ids: Sequence[int]) -> None:
    seen: set[int] = set()
    for app_id in ids:
        if app_id in seen:
            raise RuleInputError(f"{kind}.application_id", f"application {app_id} is listed twice")
        seen.add(app_id)


def propose_matches(
    visitors: Sequence[VisitorCandidate], hosts: Sequence[HostOffer], rule_set: RuleSet
) -> MatchResult:
    """The assignment of visitors to host slots with the highest total fit score."""
    visitors = sorted(visitors, key=lambda v: v.application_id)
    hosts = sorted(hosts, key=lambda h: h.application_id)
    _check_ids("visitors", [v.application_id for v in visitors])
    _check_ids("hosts", [h.application_id for h in hosts])
    for host in hosts:
        to_count(f"hosts[{host.application_id}].capacity", host.capacity)

    v_sides = [_visitor_side(v) for v in visitors]
    h_sides = [_host_side(h) for h in hosts]
    scores = [[_assess(v, h, rule_set, explain=False)[0] for h in h_sides] for v in v_sides]
    slots = [j for j, h in enumerate(hosts) for _ in range(min(h.capacity, len(visitors)))]
    chosen = _solve(scores, slots) if visitors and slots else []

    proposals = tuple(
        Proposal(v_sides[i].app_id, h_sides[j].app_id, scores[i][j],  # type: ignore[arg-type]
                 _assess(v_sides[i], h_sides[j], rule_set, explain=True)[1])
        for i, j in chosen
    )
    matched = {p.visitor_application_id for p in proposals}
    unmatched = tuple(v.application_id for v in visitors if v.application_id not in matched)
    total = sum((p.score for p in proposals), Decimal("0.0000"))
    return MatchResult(proposals, unmatched, total)


def _solve(scores: list[list[Decimal | None]], slots: list[int]) -> list[tuple[int, int]]:
    """Solve the slot assignment; returns (visitor index, host index) pairs of feasible pairs only."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    rows = len(scores)
    # Cost of a feasible pair: -(score in quanta * K + 1), so that score comes first and, among equal
    # scores, more matched visitors (K exceeds any number of pairs). Infeasible = 0 = "not matched",
    # and such pairs are dropped from the answer below.
    k = rows + 1
    units = np.array([[int(s / SCORE_QUANTUM) * k + 1 if s is not None else 0 for s in row] for row in scores],
                     dtype=object)
    largest = max((int(u) for u in units.flat), default=0)
    if largest * rows >= _FLOAT_EXACT:
        raise RuleInputError("rule_set", "the match weights are too large to score this many candidates")
    cost = -units.astype(np.float64)[:, slots]
    row_ind, col_ind = linear_sum_assignment(cost)
    pairs = [(int(i), slots[int(c)]) for i, c in zip(row_ind, col_ind, strict=True) if scores[i][slots[int(c)]] is not None]
    return sorted(pairs)
