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
  ``transition`` and the other ``more_developed``.

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


@dataclass(frozen=True)
class VisitorCandidate:
    application_id: int
    org: OrgFacts
    sectors: frozenset[str]
    wished_countries: frozenset[str]
    date_from: date
    date_to: date
    excluded_hosts: frozenset[int] = frozenset()


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


def explain_fit(visitor: VisitorCandidate, host: HostOffer, rule_set: RuleSet) -> dict[str, Any]:
    """Why a pair is feasible or not, and every component of its score."""
    v_from, v_to = _window("visitor", visitor.date_from, visitor.date_to)
    h_from, h_to = _window("host", host.date_from, host.date_to)
    v_country = normalise_country("visitor.country", visitor.org.country)
    h_country = normalise_country("host.country", host.org.country)
    start, end = max(v_from, h_from), min(v_to, h_to)
    overlap = max(0, (end - start).days + 1)
    needed = rule_set.min_working_days + 2

    infeasible: list[str] = []
    if v_country == h_country:
        infeasible.append("SAME_COUNTRY")
    if visitor.org.id == host.org.id:
        infeasible.append("SAME_ORGANISATION")
    if host.application_id in visitor.excluded_hosts:
        infeasible.append("HOST_EXCLUDED")
    if overlap < needed:
        infeasible.append("DATES_DO_NOT_OVERLAP")

    shared, union = visitor.sectors & host.sectors, visitor.sectors | host.sectors
    wished = frozenset(normalise_country("wished_countries", c) for c in visitor.wished_countries)
    categories = (visitor.org.region_category, host.org.region_category)
    crosses = (categories[0] in LESS_DEVELOPED and categories[1] in MORE_DEVELOPED) or (
        categories[0] in MORE_DEVELOPED and categories[1] in LESS_DEVELOPED)
    components = {
        "sector": {"shared": shared, "visitor": visitor.sectors, "host": host.sectors,
                   "points": _points(rule_set.match_weight_sector, len(shared), len(union))},
        "country_wish": {"host_country": h_country, "wished": wished, "hit": h_country in wished,
                         "points": _points(rule_set.match_weight_country_wish, int(h_country in wished), 1)},
        "date_overlap": {"from": start if overlap else None, "to": end if overlap else None,
                         "days": overlap, "visitor_days": (v_to - v_from).days + 1, "min_days": needed,
                         "points": _points(rule_set.match_weight_date_overlap, overlap, (v_to - v_from).days + 1)},
        "region_bonus": {"visitor": categories[0], "host": categories[1], "applies": crosses,
                         "points": _points(rule_set.match_bonus_region_category, int(crosses), 1)},
    }
    score = sum((c["points"] for c in components.values()), Decimal("0.0000"))
    return {"feasible": not infeasible, "infeasible": infeasible, "components": components,
            "score": score if not infeasible else None, "rule_set_version": rule_set.version}


def fit_score(visitor: VisitorCandidate, host: HostOffer, rule_set: RuleSet) -> Decimal | None:
    """The pair's fit score, or None when the pair is infeasible."""
    return explain_fit(visitor, host, rule_set)["score"]


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

    fits = [[explain_fit(v, h, rule_set) for h in hosts] for v in visitors]
    slots = [j for j, h in enumerate(hosts) for _ in range(min(h.capacity, len(visitors)))]
    chosen: list[tuple[int, int]] = []
    if visitors and slots:
        chosen = _solve(fits, slots)

    proposals = tuple(
        Proposal(visitors[i].application_id, hosts[j].application_id, fits[i][j]["score"], fits[i][j])
        for i, j in chosen
    )
    matched = {p.visitor_application_id for p in proposals}
    unmatched = tuple(v.application_id for v in visitors if v.application_id not in matched)
    total = sum((p.score for p in proposals), Decimal("0.0000"))
    return MatchResult(proposals, unmatched, total)


def _solve(fits: list[list[dict[str, Any]]], slots: list[int]) -> list[tuple[int, int]]:
    """Solve the slot assignment; returns (visitor index, host index) pairs of feasible pairs only."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    rows = len(fits)
    # Cost of a feasible pair: -(score in quanta * K + 1), so that score comes first and, among equal
    # scores, more matched visitors (K exceeds any number of pairs). Infeasible = 0 = "not matched".
    k = rows + 1
    units = [[int(f["score"] / SCORE_QUANTUM) * k + 1 if f["feasible"] else 0 for f in row] for row in fits]
    largest = max((u for row in units for u in row), default=0)
    if largest * rows >= _FLOAT_EXACT:
        raise RuleInputError("rule_set", "the match weights are too large to score this many candidates")
    cost = np.zeros((rows, len(slots)), dtype=np.float64)
    for i, row in enumerate(units):
        cost[i, :] = [-float(row[j]) for j in slots]
    row_ind, col_ind = linear_sum_assignment(cost)
    pairs = [(int(i), slots[int(c)]) for i, c in zip(row_ind, col_ind) if fits[i][slots[int(c)]]["feasible"]]
    return sorted(pairs)
