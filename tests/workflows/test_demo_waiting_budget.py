"""The demo stopped on a day (`cxp demo --until`) leaves the autumn call's grants waiting for budget
(BUDGET_EXHAUSTED) for a person: its own administrator raises budgets only when the demo is driven to
its end. Raising the budget then (as the administrator does in the workspace) approves the waiting
grant at once, and the demo driven on ends as it always does."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Call, Claim, ClaimStatus, Exchange
from workflows.db.process_models import AuditEvent, OutboxMessage
from workflows.demo.run import run_demo
from workflows.services.access import principal_by_name
from workflows.services.calls import change_budget
from workflows.settings import Settings

pytestmark = pytest.mark.slow


def test_the_autumn_grants_wait_until_the_administrator_raises_the_budget(tmp_path: Path) -> None:
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    try:
        stopped = run_demo(app, seed=7, size="small", progress=False, until=date(2027, 10, 12))
        assert stopped["finished"] is False
        with app.uow() as uow:
            waiting = list(uow.session.scalars(select(Exchange.ref).join(Claim, Claim.exchange_id == Exchange.id)
                                               .join(Call, Call.id == Claim.call_id).where(
                Call.code == "CXP-2027-02", Claim.status == ClaimStatus.WAITING_BUDGET)))
            raised = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "call_budget_raised")).all()
            alerts = uow.session.scalars(select(OutboxMessage.recipients).where(
                OutboxMessage.template == "grant_waiting_budget")).all()
        assert waiting and raised == []                    # it waits for a person, past the demo's 1-3 days
        assert alerts and all(r == ["support@clusterxchange.local"] for r in alerts)

        out = change_budget(app, "CXP-2027-02", principal_by_name(app, "admin"), "2000.00",
                            "Co-funding confirmed in the workspace.")
        assert out.approved == waiting and out.after.waiting_grants == 0

        finished = run_demo(app, seed=7, size="small", progress=False)
        assert finished["finished"] is True and finished["audit"]["ok"] is True and finished["stuck_instances"] == []
        assert set(finished["exchanges_by_state"]) <= {"ineligible", "rejected", "withdrawn", "not_matched",
                                                       "cancelled", "closed_without_grant", "closed"}
    finally:
        app.close()
