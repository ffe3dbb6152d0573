"""The inbox listing: an officer's open tasks of their role and partnership, unassigned or theirs,
soonest due first and those without a due date last; read in the index's own order."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from benchmarks.inbox import seed_open_tasks
from workflows.app import App
from workflows.db.models import User
from workflows.db.process_models import HumanTask
from workflows.services.inbox import InboxTask, get_viewer, inbox_statement, list_tasks

NEVER = datetime.max.replace(tzinfo=timezone.utc)


def test_an_officers_inbox_pages_in_due_order_with_undated_tasks_last(app: App) -> None:
    username = seed_open_tasks(app, 1500)
    with app.uow() as uow:
        user = uow.session.scalars(select(User).where(User.username == username)).one()
        expected = sorted(
            (t for t in uow.session.scalars(select(HumanTask).where(HumanTask.status == "open"))
             if t.role == "officer" and t.partnership_id == user.partnership_id and t.assignee_id in (None, user.id)),
            key=lambda t: (t.due_at is None, t.due_at or NEVER, t.id))
        first, second = list_tasks(uow, username, limit=50), list_tasks(uow, username, limit=50, offset=50)
        undated = [t.id for t in expected if t.due_at is None]
        last_page = list_tasks(uow, username, limit=50, offset=len(expected) - 10)
        expected_ids = [t.id for t in expected]
    assert [t.id for t in first + second] == expected_ids[:100]
    assert all(isinstance(t, InboxTask) and t.due_at.tzinfo is not None for t in first)
    assert undated and [t.id for t in last_page] == expected_ids[-10:]  # the undated ones come last
    assert set(undated[-5:]) <= {t.id for t in last_page}


def test_the_first_page_is_read_in_the_index_order_without_sorting(app: App) -> None:
    if app.db.dialect.name != "sqlite":
        return  # PostgreSQL's planner picks by table statistics; the index is the same
    username = seed_open_tasks(app, 500)
    with app.uow() as uow:
        prepared, params = inbox_statement(get_viewer(uow, username))
        sql, driver_params = prepared.for_driver(app.db.dialect, **params, limit=50, offset=0)
        plan = " | ".join(row[3] for row in uow.connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", driver_params))
    assert "ix_human_tasks_inbox" in plan and "TEMP B-TREE" not in plan, plan
