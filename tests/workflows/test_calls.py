"""Raising a call's budget (workflows/services/calls.py): an administrator only, to more than today's
budget, with a reason; every refusal is one sentence naming the field and changes nothing."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.workflows.builders import ADMIN, OFFICER, Programme, as_user, programme  # noqa: F401 - the fixture
from workflows.db.models import Call
from workflows.services import NotFound, PermissionDenied, ServiceError
from workflows.services.calls import raise_budget


def _budget(prog: Programme) -> Decimal:
    with prog.app.uow() as uow:
        return uow.session.scalar(select(Call.budget).where(Call.code == "CXP-TEST-01"))


def test_an_administrator_raises_the_budget_and_it_is_audited(programme: Programme) -> None:  # noqa: F811
    result = raise_budget(programme.app, "CXP-TEST-01", as_user(programme.app, ADMIN), "31500.00", "Co-funding confirmed.")
    assert result.model_dump(mode="json") == {"call": "CXP-TEST-01", "budget_before": "30000.00", "budget": "31500.00"}
    assert _budget(programme) == Decimal("31500.00")
    [event] = programme.events("call_budget_raised")
    assert event.actor == ADMIN and event.subject == "call:CXP-TEST-01"
    assert event.data_before == {"budget": "30000.00"}
    assert event.data_after == {"budget": "31500.00", "reason": "Co-funding confirmed."}


@pytest.mark.parametrize(("call", "user", "amount", "reason", "error", "message"), [
    ("CXP-TEST-01", ADMIN, "29000.00", "less", ServiceError, "budget: EUR 29000.00 is not more than"),
    ("CXP-TEST-01", ADMIN, "31000.005", "odd", ServiceError, "budget: 31000.005 must be euros"),
    ("CXP-TEST-01", ADMIN, "lots", "odd", ServiceError, "budget: 'lots' is not an amount"),
    ("CXP-TEST-01", ADMIN, "31000.00", "  ", ServiceError, "reason: raising a budget needs a reason"),
    ("CXP-NONE", ADMIN, "31000.00", "why", NotFound, "call: no call 'CXP-NONE'"),
    ("CXP-TEST-01", OFFICER, "31000.00", "why", PermissionDenied, "officer1.north is officer; only an admin"),
])
def test_a_refused_raise_changes_nothing(programme: Programme, call: str, user: str, amount: str,  # noqa: F811
                                         reason: str, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        raise_budget(programme.app, call, as_user(programme.app, user), amount, reason)
    assert str(raised.value).startswith(message)
    assert _budget(programme) == Decimal("30000.00")
    assert programme.events("call_budget_raised") == []
    assert len(programme.events("call_budget_refused")) == (1 if error is PermissionDenied else 0)
