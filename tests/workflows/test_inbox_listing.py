"""The inbox listing: an officer's open tasks of their role and partnership, unassigned or theirs,
soonest due first and those without a due date last; read in the index's own order; filtered, sorted
and paged, with the counts of the whole filtered set."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from benchmarks.inbox import START, seed_open_tasks
from workflows.app import App
from workflows.db.process_models import HumanTask
from workflows.services import Invalid
from workflows.services.access import SYSTEM, principal_by_name
from workflows.services.inbox import inbox_statement, list_tasks
from workflows.services.outputs import TaskOut

NEVER = datetime.max.replace(tzinfo=UTC)


def _open_tasks(app: App) -> list[HumanTask]:
    with app.uow() as uow:
        tasks = list(uow.session.scalars(select(HumanTask).where(HumanTask.status == "open")))
        uow.session.expunge_all()
        return tasks


def _by_due(tasks: list[HumanTask]) -> list[int]:
    return [t.id for t in sorted(tasks, key=lambda t: (t.due_at is None, t.due_at or NEVER, t.id))]


def test_an_officers_inbox_pages_in_due_order_with_undated_tasks_last(app: App) -> None:
    officer = principal_by_name(app, seed_open_tasks(app, 1500))
    mine = [t for t in _open_tasks(app) if t.role == "officer" and t.partnership_id == officer.partnership_id
            and t.assignee_id in (None, officer.user_id)]
    expected = _by_due(mine)
    first, second = list_tasks(app, officer), list_tasks(app, officer, page=2)
    last_page = list_tasks(app, officer, page_size=10, page=len(expected) // 10 + 1)
    assert [t.id for t in first.tasks + second.tasks] == expected[:100]
    assert all(isinstance(t, TaskOut) and t.due_at.tzinfo is not None for t in first.tasks)
    assert first.total == len(expected) and (first.page, first.page_size) == (1, 50)
    assert first.counts_by_task == dict(Counter(t.task_spec for t in mine))
    assert [t.id for t in last_page.tasks] == expected[-(len(expected) % 10):]  # the undated ones come last
    assert last_page.tasks[-1].due_at is None
    assert {t.process for t in first.tasks} == {"exchange"}


def test_the_first_page_is_read_in_the_index_order_without_sorting(app: App) -> None:
    if app.db.dialect.name != "sqlite":
        return  # PostgreSQL's planner picks by table statistics; the index is the same
    officer = principal_by_name(app, seed_open_tasks(app, 500))
    page, _, params = inbox_statement(officer)
    with app.uow() as uow:
        sql, driver_params = page.for_driver(app.db.dialect, **params, limit=50, offset=0)
        plan = " | ".join(row[3] for row in uow.connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", driver_params))
    assert "ix_human_tasks_inbox" in plan and "TEMP B-TREE" not in plan, plan


def test_the_inbox_filters_by_task_status_and_due_date_and_counts_what_it_filtered(app: App) -> None:
    officer = principal_by_name(app, seed_open_tasks(app, 800))
    mine = [t for t in _open_tasks(app) if t.role == "officer" and t.partnership_id == officer.partnership_id]
    cutoff = START + timedelta(days=60)

    evidence = list_tasks(app, officer, task="validate_evidence", page_size=200)
    assert {t.task for t in evidence.tasks} == {"validate_evidence"}
    assert evidence.counts_by_task == {"validate_evidence": evidence.total}
    claimed = list_tasks(app, officer, status="mine", page_size=200)
    assert [t.id for t in claimed.tasks] == _by_due([t for t in mine if t.assignee_id == officer.user_id])
    assert all(t.assignee == officer.username for t in claimed.tasks)
    unclaimed = list_tasks(app, officer, status="unclaimed", page_size=200)
    assert unclaimed.total == sum(1 for t in mine if t.assignee_id is None)
    by_others = list_tasks(app, officer, status="claimed", page_size=200)
    assert by_others.total == sum(1 for t in mine if t.assignee_id is not None)
    soon = list_tasks(app, officer, due_before=cutoff, page_size=200)
    assert soon.total == sum(1 for t in mine if t.assignee_id in (None, officer.user_id) and t.due_at
                             and t.due_at < cutoff)
    with app.uow() as uow:
        overdue = list_tasks(uow, officer, status="overdue", page_size=200)
        assert all(t.overdue and t.due_at < uow.now() for t in overdue.tasks)
    assert list_tasks(app, officer, process="no_such_process").total == 0
    assert list_tasks(app, officer, process="exchange").total == list_tasks(app, officer).total


def test_the_inbox_sorts_by_due_date_creation_or_task_either_way(app: App) -> None:
    officer = principal_by_name(app, seed_open_tasks(app, 400))
    mine = [t for t in _open_tasks(app) if t.role == "officer" and t.partnership_id == officer.partnership_id
            and t.assignee_id in (None, officer.user_id)]
    dated = [t for t in mine if t.due_at is not None]
    latest_first = list_tasks(app, officer, sort="-due", page_size=200).tasks
    assert [t.id for t in latest_first[:len(dated)]] == [t.id for t in sorted(dated, key=lambda t: (t.due_at, t.id),
                                                                             reverse=True)][:200]
    newest = list_tasks(app, officer, sort="-created", page_size=200).tasks
    assert [t.id for t in newest] == sorted((t.id for t in mine), reverse=True)[:200]
    by_task = list_tasks(app, officer, sort="task", page_size=200).tasks
    assert [t.task for t in by_task] == sorted(t.task for t in by_task)
    descending = [t.task for t in list_tasks(app, officer, sort="-task", page_size=200).tasks]
    assert descending == sorted(descending, reverse=True) and descending[0] == max(t.task_spec for t in mine)


def test_the_system_and_an_auditor_with_a_role_read_every_partnerships_tasks(app: App) -> None:
    seed_open_tasks(app, 300)
    every = _open_tasks(app)
    assert list_tasks(app, SYSTEM).total == len(every)
    with app.uow() as uow:
        from workflows.db.models import User

        uow.session.add(User(username="ada", display_name="Ada", email="ada@example.eu", role="auditor"))
        uow.commit()
    auditor = principal_by_name(app, "ada")
    assert list_tasks(app, auditor).total == 0  # no task is in an auditor's lane
    assert list_tasks(app, auditor, role="finance").total == sum(1 for t in every if t.role == "finance")


@pytest.mark.parametrize(("filters", "field"), [
    ({"sort": "soonest"}, "sort"), ({"status": "closed"}, "status"), ({"page": 0}, "page"),
    ({"page_size": 201}, "page_size"), ({"page_size": 0}, "page_size"), ({"role": "boss"}, "role")])
def test_a_bad_filter_is_invalid_and_names_its_field(app: App, filters: dict, field: str) -> None:
    with pytest.raises(Invalid) as raised:
        list_tasks(app, SYSTEM, **filters)
    assert [f.loc for f in raised.value.fields] == [(field,)]
    assert str(raised.value).startswith(f"{field}: ")
