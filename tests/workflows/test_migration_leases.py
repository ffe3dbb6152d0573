"""Migration 0014 on SQLite and PostgreSQL over a populated database (a programme under way): its
downgrade drops the lease columns and keeps every row, its upgrade adds them back empty, and the
timers sweep then claims and advances the instances as before."""
from __future__ import annotations

from datetime import timedelta
from importlib.resources import as_file

from alembic import command
from sqlalchemy import func, inspect, select

from tests.workflows.builders import OFFICER, Programme, programme  # noqa: F401
from workflows.db.base import make_engine
from workflows.db.process_models import OutboxMessage, ProcessInstance
from workflows.db.schema import MIGRATIONS, alembic_config
from workflows.services.lifecycle import fire_due_timers


def _migrate(url: str, target: str, downgrade: bool = False) -> dict[str, set[str]]:
    engine = make_engine(url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(url, str(folder))
            config.attributes["connection"] = connection
            (command.downgrade if downgrade else command.upgrade)(config, target)
            columns = inspect(connection)
            return {t: {c["name"] for c in columns.get_columns(t)} for t in ("process_instances", "outbox_messages")}
    finally:
        engine.dispose()


def test_migration_0014_adds_and_drops_the_lease_columns_keeping_every_row(programme: Programme) -> None:  # noqa: F811
    app = programme.app
    programme.submit_visitor_application()
    programme.complete("assess_application", OFFICER, {"decision": "request_info", "comment": "Which activities?"})
    with app.uow() as uow:
        before = (uow.session.scalar(select(func.count(ProcessInstance.id))),
                  uow.session.scalar(select(func.count(OutboxMessage.id))))
    url = app.settings.database_url
    app.db.dispose()

    down = _migrate(url, "0013_applications", downgrade=True)
    assert not {"lease_owner", "lease_until"} & down["process_instances"]
    assert "lease_owner" not in down["outbox_messages"]
    up = _migrate(url, "head")
    assert {"lease_owner", "lease_until"} <= up["process_instances"] and "lease_owner" in up["outbox_messages"]

    with app.uow() as uow:
        assert (uow.session.scalar(select(func.count(ProcessInstance.id))),
                uow.session.scalar(select(func.count(OutboxMessage.id)))) == before
        assert uow.session.scalars(select(ProcessInstance.lease_owner).distinct()).all() == [None]
    assert programme.advance(timedelta(days=15))["timers_fired"] >= 1  # the question's deadline, on a migrated row
    assert (programme.instance().status, programme.instance().outcome) == ("completed", "end_withdrawn")
    assert fire_due_timers(app) == 0
