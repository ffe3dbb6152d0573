"""Service tasks against a hand-made programme port (tasks.ports): no database, no engine."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rules.errors import RuleInputError
from rules.grant import GrantResult
from tasks.exchange_services import queue_claim


class _Claims:
    """The claim ports queue_claim uses; records what it was told."""

    def __init__(self, override: dict[str, Any] | None) -> None:
        self.override, self.final, self.approved = override, None, None

    def claim_grant(self, exchange_id: int) -> tuple[GrantResult, dict[str, Any] | None]:
        result = GrantResult(Decimal("1100.00"), "lump_sum", ("FULL",), {"cap": "1100.00"}, "2026.1")
        return result, self.override

    def finalise_override(self, exchange_id: int, final: dict[str, Any]) -> None:
        self.final = final

    def approve_claim(self, exchange_id: int, approver: int | None) -> None:
        self.approved = approver


class _Context:
    def __init__(self, programme: _Claims) -> None:
        self.programme = programme


def _data(approver: int) -> dict[str, Any]:
    return {"exchange_id": 7, "approve_payment": {"decision": "approve", "completed_by": approver}}


def test_an_override_is_finalised_with_its_proposer_and_a_second_approver() -> None:
    claims = _Claims({"amount": "900.00", "reason": "two days missed", "proposed_by": 11})
    queue_claim(_Context(claims), _data(12))  # type: ignore[arg-type]
    assert claims.final is not None and Decimal(claims.final["amount"]) == Decimal("900.00")
    assert claims.approved == 12


def test_an_override_whose_proposer_is_unknown_is_refused_not_approved() -> None:
    """R-4EYES compares the proposer with the approver: without a proposer it could not, so the step fails
    (an incident for an officer to see) instead of letting one person both propose and approve."""
    claims = _Claims({"amount": "900.00", "reason": "two days missed"})
    with pytest.raises(RuleInputError, match="proposed_by"):
        queue_claim(_Context(claims), _data(12))  # type: ignore[arg-type]
    assert claims.final is None and claims.approved is None
