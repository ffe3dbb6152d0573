"""Migration 0017 on SQLite and PostgreSQL over a programme under way: its downgrade drops the budget
reservations' table and keeps every other row, its upgrade makes it again, empty, and a grant's budget
check then reserves and adopts as before."""
from __future__ import annotations

from importlib.resources import as_file

from alembic import command
from sqlalchemy import func, inspect, select

from tests.workflows.builders import OFFICER, VISITOR, Programme, accept_evidence, evidence, programme  # noqa: F401
from workflows.db.base import make_engine
from workflows.db.models import BudgetReservation, Claim, ClaimStatus
from workflows.db.process_models import ProcessInstance
from workflows.db.schema import MIGRATIONS, alembic_config


def _migrate(url: str, target: str, downgrade: bool = False) -> set[str]:
    engine = make_engine(url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(url, str(folder))
            config.attributes["connection"] = connection
            (command.downgrade if downgrade else command.upgrade)(config, target)
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_migration_0017_adds_and_drops_the_budget_reservations_keeping_every_row(programme: Programme) -> None:  # noqa: F811
    app = programme.app
    programme.awaiting_evidence()
    with app.uow() as uow:
        instances = uow.session.scalar(select(func.count(ProcessInstance.id)))
    url = app.settings.database_url
    app.db.dispose()

    assert "budget_reservations" not in _migrate(url, "0016_registrations", downgrade=True)
    assert "budget_reservations" in _migrate(url, "head")

    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(ProcessInstance.id))) == instances
    programme.complete("submit_evidence", VISITOR, evidence())
    programme.complete("validate_evidence", OFFICER, accept_evidence())  # computes the grant, commits it
    with app.uow() as uow:
        assert uow.session.scalar(select(Claim.status).where(Claim.exchange_id == programme.exchange_id)) in (
            ClaimStatus.COMMITTED, ClaimStatus.APPROVED)
        assert uow.session.scalar(select(func.count()).select_from(BudgetReservation)) == 0
