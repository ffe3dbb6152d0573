"""R-BUDGET through the real services on a real database (hypothesis): however an administrator's
budget changes (`change_budget`), the commitments of the processes (`Programme.commit_budget`), the
payments and the released commitments (with the budget offered again to the waiting grants) follow
each other, what is committed and paid never exceeds the call's budget, and a refused change writes
nothing."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.workflows.builders import ADMIN, BRUSSELS, Programme, build_programme
from workflows.app import App
from workflows.db.models import Application, Call, Claim, ClaimStatus, Exchange
from workflows.programme import Programme as Records
from workflows.services import Invalid
from workflows.services.calls import change_budget, offer_budget

GRANTS = 4
_calls = itertools.count(1)


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Programme]:
    from workflows.services.setup import init_database
    from workflows.settings import Settings

    folder: Path = tmp_path_factory.mktemp("budget")
    app = App(Settings(database_url=f"sqlite:///{folder}/cxp.db", files_dir=folder / "files"))
    init_database(app)
    try:
        yield build_programme(app)
    finally:
        app.close()


def _new_call(prog: Programme, budget: Decimal, amounts: list[Decimal]) -> tuple[str, list[int]]:
    """A call of its own with `GRANTS` computed claims (no processes: the records only)."""
    code = f"CXP-PROP-{next(_calls):04d}"
    with prog.app.uow() as uow:
        call = Call(code=code, title="Property call", lead_partnership_id=prog.north_id, opens_on=date(2027, 1, 11),
                    closes_on=date(2027, 3, 5), matching_deadline=datetime(2027, 5, 28, 18, tzinfo=BRUSSELS),
                    budget=budget, rule_set_version="2026.1", formats=["exchange_visit"], status="open")
        uow.session.add(call)
        uow.session.flush()
        exchanges = []
        for amount in amounts:
            application = Application(call_id=call.id, organisation_id=prog.visitor_org_id, partnership_id=prog.north_id,
                                      role="visitor", date_from=date(2027, 2, 1), date_to=date(2027, 3, 1),
                                      submitted_at=uow.now(), status="matched")
            uow.session.add(application)
            uow.session.flush()
            exchange = Exchange(ref=f"EX-{application.id:06d}", call_id=call.id, visitor_application_id=application.id,
                                visitor_org_id=prog.visitor_org_id, visitor_partnership_id=prog.north_id,
                                format="exchange_visit", status="grant_computed", created_at=uow.now())
            uow.session.add(exchange)
            uow.session.flush()
            uow.session.add(Claim(exchange_id=exchange.id, call_id=call.id, partnership_id=prog.north_id, amount=amount,
                                  computation={}, status=ClaimStatus.COMPUTED, created_at=uow.now()))
            exchanges.append(exchange.id)
        uow.commit()
    return code, exchanges


def _totals(prog: Programme, code: str) -> tuple[Decimal, Decimal]:
    with prog.app.uow() as uow:
        call = uow.session.scalars(select(Call).where(Call.code == code)).one()
        used = uow.session.scalar(select(func.coalesce(func.sum(Claim.amount), 0)).where(
            Claim.call_id == call.id, Claim.status.in_((*ClaimStatus.COMMITTING, ClaimStatus.PAID))))
        return call.budget, Decimal(used or 0)


def _claim_step(prog: Programme, exchange_id: int, kind: str) -> None:
    with prog.app.uow() as uow:
        claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == exchange_id)).one()
        if kind == "commit" and claim.status in (ClaimStatus.COMPUTED, ClaimStatus.WAITING_BUDGET):
            Records(uow.session, uow.now(), lambda *a, **k: uow.audit(*a, **k)).commit_budget(exchange_id)
        elif kind == "pay" and claim.status == ClaimStatus.COMMITTED:
            claim.status = ClaimStatus.PAID
        elif kind == "release" and claim.status == ClaimStatus.COMMITTED:
            claim.status = ClaimStatus.RELEASED
            offer_budget(prog.app, uow, uow.session.get(Call, claim.call_id))
        uow.commit()


STEPS = st.lists(st.one_of(
    st.tuples(st.just("budget"), st.decimals(min_value=1, max_value=5000, places=2)),
    st.tuples(st.sampled_from(["commit", "pay", "release"]), st.integers(min_value=0, max_value=GRANTS - 1)),
), min_size=1, max_size=14)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(budget=st.decimals(min_value=1, max_value=4000, places=2),
       amounts=st.lists(st.decimals(min_value=1, max_value=1100, places=2), min_size=GRANTS, max_size=GRANTS),
       steps=STEPS)
def test_no_sequence_of_budget_changes_and_commitments_leaves_more_committed_than_the_budget(
        prog: Programme, budget: Decimal, amounts: list[Decimal], steps: list[tuple[str, object]]) -> None:
    code, exchanges = _new_call(prog, budget, amounts)
    admin = prog.principal(ADMIN)
    for kind, value in steps:
        before = _totals(prog, code)
        if kind == "budget":
            try:
                change_budget(prog.app, code, admin, value, "A change of the property test.")
            except Invalid as err:
                assert err.fields[0].field == "budget" and _totals(prog, code) == before
                assert value == before[0] or value < before[1]
        else:
            _claim_step(prog, exchanges[int(str(value))], kind)
        new_budget, used = _totals(prog, code)
        assert used <= new_budget, (kind, value, new_budget, used)
