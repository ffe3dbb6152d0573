"""Reading the process versions: every deployed version, one version with what changed from the one
before, its history (deployed, instances moved to it, moves rolled back: who, when, why) and the
unfinished instances a migration could move to it; and an instance's own version history.

Administrators and auditors read them (`access.require_process_reader`); changing them is
`workflows.services.process_versions`."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from workflows.app import App
from workflows.db.models import Call, Exchange
from workflows.db.process_models import HumanTask, ProcessDefinition, ProcessInstance
from workflows.db.version_models import MigrationStatus, ProcessMigration
from workflows.services import NotFound, access
from workflows.services.access import Principal
from workflows.services.outputs import InstanceVersionOut
from workflows.services.version_outputs import (
    CandidateOut,
    ProcessVersionDetail,
    ProcessVersionOut,
    StepChangeOut,
    VersionHistoryOut,
)
from workflows.uow import UnitOfWork

MAX_CANDIDATES = 1000  # the instances a version's page offers to move, oldest first


K = TypeVar("K")
V = TypeVar("V")


def pairs(uow: UnitOfWork, query: Select[K, V]) -> dict[K, V]:
    """The rows of a two-column query as a dict (first column → second)."""
    return {key: value for key, value in uow.session.execute(query)}


def subject_refs(uow: UnitOfWork, instances: Iterable[ProcessInstance]) -> dict[int, str]:
    """How a person names each instance's subject: the exchange's reference, the call's code, or
    "application 12" (a host offer)."""
    rows = list(instances)
    exchanges = {i.subject_id for i in rows if i.subject_type == "exchange"}
    calls = {i.subject_id for i in rows if i.subject_type == "call"}
    refs = pairs(uow, select(Exchange.id, Exchange.ref).where(Exchange.id.in_(exchanges))) if exchanges else {}
    codes = pairs(uow, select(Call.id, Call.code).where(Call.id.in_(calls))) if calls else {}
    names = {}
    for i in rows:
        if i.subject_type == "exchange" and i.subject_id in refs:
            names[i.id] = refs[i.subject_id]
        elif i.subject_type == "call" and i.subject_id in codes:
            names[i.id] = codes[i.subject_id]
        else:
            names[i.id] = f"{i.subject_type} {i.subject_id}"
    return names


def _newest(uow: UnitOfWork) -> dict[str, int]:
    """The current (newest) version of each process."""
    return pairs(uow, select(ProcessDefinition.process_id, func.max(ProcessDefinition.version))
                 .group_by(ProcessDefinition.process_id))


def running_counts(uow: UnitOfWork) -> dict[int, int]:
    """Unfinished instances per definition id."""
    return pairs(uow, select(ProcessInstance.definition_id, func.count(ProcessInstance.id))
                 .where(ProcessInstance.status != "completed").group_by(ProcessInstance.definition_id))


def version_out(row: ProcessDefinition, newest: dict[str, int], running: dict[int, int]) -> ProcessVersionOut:
    return ProcessVersionOut(id=row.id, process=row.process_id, version=row.version, sha256=row.sha256,
                             filename=row.filename, deployed_at=row.deployed_at, deployed_by=row.deployed_by,
                             reason=row.reason, checks=row.checks, current=newest.get(row.process_id) == row.version,
                             running=running.get(row.id, 0))


def list_versions(app: App, principal: Principal) -> list[ProcessVersionOut]:
    """Every deployed version, by process and newest first, with how many unfinished instances run it."""
    access.require_process_reader(app, None, principal, "list the process versions")
    with app.uow() as uow:
        newest, running = _newest(uow), running_counts(uow)
        rows = uow.session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.process_id,
                                                                      ProcessDefinition.version.desc()))
        return [version_out(row, newest, running) for row in rows]


def definition_row(uow: UnitOfWork, version_id: int) -> ProcessDefinition:
    """The deployed version `version_id`, or `NotFound`."""
    row = uow.session.get(ProcessDefinition, version_id) if 0 < version_id <= access.MAX_ID else None
    if row is None:
        raise NotFound(f"process version {version_id} does not exist")
    return row


def change_out(change: Any) -> StepChangeOut:
    """A `workflows.engine.migration.StepChange` as the answer shows it."""
    return StepChangeOut(step=change.step, label=change.label, kind=change.kind, change=change.change,
                         fields=list(change.fields), to_step=change.to_step, to_label=change.to_label)


def changes_from_previous(app: App, uow: UnitOfWork, row: ProcessDefinition) -> tuple[int | None, list[StepChangeOut]]:
    """(the previous version's number, what changed from it to `row`), or (None, []) for a first version."""
    from workflows.engine.migration import version_changes

    previous_id = uow.session.scalar(select(ProcessDefinition.id).where(
        ProcessDefinition.process_id == row.process_id, ProcessDefinition.version < row.version)
        .order_by(ProcessDefinition.version.desc()).limit(1))
    if previous_id is None:
        return None, []
    previous = app.library.by_id(uow, previous_id)
    return previous.version, [change_out(c) for c in version_changes(previous, app.library.by_id(uow, row.id))]


def _history(uow: UnitOfWork, row: ProcessDefinition) -> list[VersionHistoryOut]:
    history = [VersionHistoryOut(at=row.deployed_at, action="deployed", by=row.deployed_by or "system (cxp init)",
                                 reason=row.reason)]
    moves = list(uow.session.scalars(select(ProcessMigration).where(ProcessMigration.to_definition_id == row.id)
                                     .order_by(ProcessMigration.id)))
    instances = {i.id: i for i in uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.id.in_({m.instance_id for m in moves})))} if moves else {}
    refs = subject_refs(uow, instances.values())
    versions = pairs(uow, select(ProcessDefinition.id, ProcessDefinition.version))
    for move in moves:
        ref, back = refs.get(move.instance_id), versions.get(move.from_definition_id)
        history.append(VersionHistoryOut(at=move.migrated_at, action="migrated", by=move.migrated_by,
                                         reason=move.reason, instance_id=move.instance_id, subject_ref=ref,
                                         from_version=back, rolled_back=move.status == MigrationStatus.ROLLED_BACK))
        if move.status == MigrationStatus.ROLLED_BACK and move.rolled_back_at is not None:
            history.append(VersionHistoryOut(at=move.rolled_back_at, action="rolled_back",
                                             by=move.rolled_back_by or "", reason=move.rollback_reason,
                                             instance_id=move.instance_id, subject_ref=ref, from_version=back))
    return sorted(history, key=lambda h: h.at)


def candidates(uow: UnitOfWork, row: ProcessDefinition, limit: int = MAX_CANDIDATES) -> list[CandidateOut]:
    """Unfinished instances of the version's process running another version, oldest first."""
    instances = list(uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.process_id == row.process_id, ProcessInstance.status != "completed",
        ProcessInstance.definition_id != row.id).order_by(ProcessInstance.id).limit(limit)))
    versions = pairs(uow, select(ProcessDefinition.id, ProcessDefinition.version))
    refs = subject_refs(uow, instances)
    open_tasks: dict[int, list[str]] = {}
    if instances:
        for instance_id, name in uow.session.execute(select(HumanTask.instance_id, HumanTask.name).where(
                HumanTask.instance_id.in_([i.id for i in instances]), HumanTask.status == "open")
                .order_by(HumanTask.id)):
            open_tasks.setdefault(instance_id, []).append(name)
    return [CandidateOut(instance_id=i.id, subject_ref=refs.get(i.id), version=versions.get(i.definition_id, 0),
                         status=i.status, waiting_on=open_tasks.get(i.id, [])) for i in instances]


def version_detail(app: App, principal: Principal, version_id: int) -> ProcessVersionDetail:
    """One version: what changed from the previous one, its history, and the instances it could take."""
    access.require_process_reader(app, None, principal, "read the process versions")
    with app.uow() as uow:
        row = definition_row(uow, version_id)
        base = version_out(row, _newest(uow), running_counts(uow))
        previous, changes = changes_from_previous(app, uow, row)
        return ProcessVersionDetail(**base.model_dump(), previous_version=previous, changes=changes,
                                    history=_history(uow, row), candidates=candidates(uow, row))


def instance_versions(uow: UnitOfWork, instance: ProcessInstance) -> list[InstanceVersionOut]:
    """The versions an instance ran: the one it started on, then each move (and rollback), oldest first."""
    moves = list(uow.session.scalars(select(ProcessMigration).where(ProcessMigration.instance_id == instance.id)
                                     .order_by(ProcessMigration.id)))
    versions = pairs(uow, select(ProcessDefinition.id, ProcessDefinition.version))
    first = moves[0].from_definition_id if moves else instance.definition_id
    found = [InstanceVersionOut(version=versions.get(first, 0), definition_id=first, action="started",
                                at=instance.created_at)]
    for move in moves:
        found.append(InstanceVersionOut(version=versions.get(move.to_definition_id, 0),
                                        definition_id=move.to_definition_id, action="migrated", at=move.migrated_at,
                                        by=move.migrated_by, reason=move.reason,
                                        from_version=versions.get(move.from_definition_id), migration_id=move.id))
        if move.status == MigrationStatus.ROLLED_BACK and move.rolled_back_at is not None:
            found.append(InstanceVersionOut(version=versions.get(move.from_definition_id, 0),
                                            definition_id=move.from_definition_id, action="rolled_back",
                                            at=move.rolled_back_at, by=move.rolled_back_by,
                                            reason=move.rollback_reason,
                                            from_version=versions.get(move.to_definition_id), migration_id=move.id))
    return found
