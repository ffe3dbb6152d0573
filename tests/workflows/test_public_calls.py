"""The public reads' use cases (workflows/services/public_calls.py): the rules of a call in words come
from its own rule set's values, whatever the version; the page of offers is one SQL query however many
offers there are, and the calls a fixed number of queries however many calls."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select

from benchmarks.applications import seed_offers
from rules.ruleset import SHIPPED, derive_rule_set
from tests.workflows.builders import Programme, programme  # noqa: F401 - the fixture
from workflows.app import App
from workflows.db.models import Call, CallEvent, Partnership
from workflows.services.public_calls import OfferFilter, public_calls, public_offers, rules_out


def test_the_rules_in_words_are_the_rule_sets_own_values() -> None:
    own = derive_rule_set(SHIPPED["2026.1"], "2027.x", {
        "thresholds": {"AT": "1050.00"}, "default_threshold": "700.00", "min_working_days": 2,
        "full_rate_min_working_days": 4, "full_rate_min_distance_km": "150", "max_stay_months": 2})
    out = rules_out(own)
    words = " ".join(out.in_words)
    assert "EUR 1,050.00 for a host in Austria;" in words and "EUR 700.00 for a host in any other eligible" in words
    assert "fewer than 4 working days" in words and "less than 150 km away" in words
    assert "at least 2 working days" in words and "at most 2 months" in words
    assert "No grant is above EUR 1,100.00" in words
    assert [c.amount for c in out.caps_by_host_country] == [Decimal("1100.00"), Decimal("1050.00"), Decimal("950.00")]
    older = " ".join(rules_out(SHIPPED["2025.1"]).in_words)
    assert "EUR 1,000.00 for a host in Austria" in older and "EUR 750.00 for a host in any other" in older


def test_an_actual_costs_rule_set_says_so_and_halves_nothing() -> None:
    costs = derive_rule_set(SHIPPED["2026.1"], "2027.costs", {"grant_model": "actual_costs", "cap": "900.00"})
    out = rules_out(costs)
    words = " ".join(out.in_words)
    assert "travel, accommodation and subsistence costs" in words and "halved" not in words
    assert "No grant is above EUR 900.00" in words and out.other_eligible_countries_cap is None


@contextmanager
def selects(app: App) -> Iterator[list[str]]:
    """The SELECT statements run on the application's database meanwhile."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(statement)

    event.listen(app.db, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(app.db, "before_cursor_execute", count)


def test_a_page_of_offers_is_one_query_however_many_offers(programme: Programme) -> None:  # noqa: F811
    seed_offers(programme.app, programme.call_id, programme.south_id, 60)
    with selects(programme.app) as seen:
        page = public_offers(programme.app, OfferFilter(page_size=50))
    assert (len(page.offers), page.total, len(seen)) == (50, 61, 1)
    with selects(programme.app) as seen:
        beyond = public_offers(programme.app, OfferFilter(page=9, page_size=50))
    assert (beyond.offers, beyond.total, len(seen)) == ([], 61, 2)  # past the last page: the total alone


def test_the_calls_are_read_in_the_same_queries_however_many_calls(programme: Programme) -> None:  # noqa: F811
    with selects(programme.app) as seen:
        assert [c.code for c in public_calls(programme.app)] == ["CXP-TEST-01"]
    one = len(seen)
    with programme.app.uow() as uow:
        north = uow.session.scalars(select(Partnership).where(Partnership.id == programme.north_id)).one()
        for n in range(3):
            call = Call(code=f"CXP-MORE-{n}", title=f"More {n}", lead_partnership_id=north.id,
                        opens_on=date(2027, 4, 1), closes_on=date(2027, 5, 1),
                        matching_deadline=datetime(2027, 6, 1, 16, tzinfo=UTC), budget=Decimal("1000.00"),
                        rule_set_version="2025.1" if n else "2026.1", formats=["conference_fair"],
                        status="published", partnerships=[north])
            uow.session.add(call)
            uow.session.flush()
            uow.session.add(CallEvent(call_id=call.id, kind="info_day", title=f"Info day {n}",
                                      starts_on=date(2027, 3, 20), ends_on=date(2027, 3, 20), place="Brussels"))
        uow.commit()
    with selects(programme.app) as seen:
        calls = public_calls(programme.app)
    assert [c.code for c in calls] == ["CXP-TEST-01", "CXP-MORE-0", "CXP-MORE-1", "CXP-MORE-2"]
    assert [c.phase for c in calls] == ["open", "coming", "coming", "coming"]
    assert calls[2].rules.version == "2025.1" and calls[2].events[0].title == "Info day 1"
    assert len(seen) == one
