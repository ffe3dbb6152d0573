"""The demo's plan of submissions: who applies to which call, when, with which dates and scenario.

The plan is a pure function of the seed and the size, so that a demo that was killed rebuilds the
same plan and makes only the submissions not yet made (`demo_state.progress["done"]`)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from workflows.demo.data import SIZES, special_id, visit_window

FIRST, AUTUMN = "CXP-2027-01", "CXP-2027-02"
# Scenarios of the eligible visitors of the first call's pool: the first ones in this order (so that
# the small demo shows them too), the others in an order drawn from the seed.
FIRST_SCENARIOS = ["override", "declined", "extension", "bank_reject"]
SCENARIOS = FIRST_SCENARIOS + ["rejected", "info", "withdrawn", "cancelled", "late", "correction", "short"]
VISITED = "@visited"  # the organisation is chosen when the submission is made: one that already visited


@dataclass(frozen=True)
class Planned:
    id: str
    day: date
    call: str
    org: str  # legal id, or VISITED
    role: str
    kind: str = "normal"
    date_from: date = date(2027, 4, 1)
    date_to: date = date(2027, 4, 29)
    wished: tuple[str, ...] = ()
    declaration: bool = True


def _pool(rng: random.Random, count: int) -> list[Planned]:
    """The first call's pool: a third of the organisations host, the others visit."""
    hosts = list(range(count * 30 // 48, count * 46 // 48))
    visitors = list(range(0, count * 30 // 48))
    rest = SCENARIOS[len(FIRST_SCENARIOS):]
    rng.shuffle(rest)
    kinds = FIRST_SCENARIOS + rest
    out = []
    for n, i in enumerate(hosts):
        start, end = visit_window(rng)
        out.append(Planned(f"host:{i}", date(2027, 1, 12) + timedelta(days=n % 6), FIRST, f"pool:{i}", "host",
                           date_from=start - timedelta(days=14), date_to=end + timedelta(days=30)))
    last = visitors[-1]
    kind_iter = iter(kinds)
    for n, i in enumerate(visitors):
        day = date(2027, 1, 13) + timedelta(days=(n * 3) % 35)
        start, end = visit_window(rng)
        kind = "normal"
        if i == last:
            day, kind = date(2027, 3, 8), "call_closed"  # after the call closed: CALL_CLOSED
        elif i == last - 1:
            kind = "no_declaration"
        elif i % 5 == 1 and i % 3 == 1:
            kind = "not_cluster_member"  # an SME outside any cluster (data.organisations): SME_NOT_CLUSTER_MEMBER
        else:
            kind = next(kind_iter, "normal")
        out.append(Planned(f"visitor:{i}", day, FIRST, f"pool:{i}", "visitor", kind, start, end,
                           declaration=kind != "no_declaration"))
    return out


def _special(rng: random.Random) -> list[Planned]:
    def window() -> tuple[date, date]:
        return visit_window(rng)

    s = special_id
    out = []
    # Leuven hosts in Belgium, where the first pool visitor is: the officer's override to it is refused.
    for key, day in (("novisad", date(2027, 1, 14)), ("izmir", date(2027, 1, 15)), ("leuven", date(2027, 1, 18))):
        start, end = window()
        out.append(Planned(f"host:{key}", day, FIRST, s(key), "host", date_from=start - timedelta(days=14),
                           date_to=end + timedelta(days=30)))
    for key, day, kind in (("lviv", date(2027, 1, 19), "non_eu"), ("athens", date(2027, 1, 20), "normal"),
                           ("oslo", date(2027, 1, 21), "non_eu"), ("reykjavik", date(2027, 1, 26), "non_eu"),
                           ("zurich", date(2027, 1, 22), "country"), ("manchester", date(2027, 1, 27), "country")):
        start, end = window()
        out.append(Planned(f"visitor:{key}", day, FIRST, s(key), "visitor", kind, start, end))
    # Nobody hosts in November: no proposal before the matching deadline.
    out.append(Planned("visitor:riga", date(2027, 1, 28), FIRST, s("riga"), "visitor", "not_matched",
                       date(2027, 11, 1), date(2027, 11, 26)))
    # The autumn call: two offers whose dates each overlap one visitor only, so the pairs are sure:
    # Bratislava-Vienna (about 55 km: the grant is halved) and Faro-Bergen; its provisional budget
    # of EUR 500 holds neither grant until the administrator raises it.
    out += [
        Planned("host:vienna2", date(2027, 6, 2), AUTUMN, s("vienna2"), "host", date_from=date(2027, 8, 30),
                date_to=date(2027, 10, 15)),
        Planned("host:bergen", date(2027, 6, 3), AUTUMN, s("bergen"), "host", date_from=date(2027, 10, 18),
                date_to=date(2027, 11, 30)),
        Planned("visitor:bratislava", date(2027, 6, 9), AUTUMN, s("bratislava"), "visitor", "short_distance",
                date(2027, 9, 6), date(2027, 10, 1), wished=("AT",)),
        Planned("visitor:faro", date(2027, 6, 14), AUTUMN, s("faro"), "visitor", "budget_wait",
                date(2027, 10, 20), date(2027, 11, 19), wished=("NO",)),
        Planned("visitor:visited-again", date(2027, 6, 10), AUTUMN, VISITED, "visitor", "already_visited",
                date(2027, 9, 6), date(2027, 10, 1)),
    ]
    return out


def plan(seed: int, size: str) -> list[Planned]:
    """Every planned submission, in the order they are made."""
    if size not in SIZES:
        raise ValueError(f"size: {size!r} is not a demo size ({', '.join(SIZES)})")
    rng = random.Random(f"{seed}:plan")
    items = _pool(rng, SIZES[size]) + _special(rng)
    return sorted(items, key=lambda p: (p.day, p.id))
