"""Process versions (SPEC §14): deploy a new version of a BPMN process, move running instances to it
on request — after a dry run that says, per instance, what changes and whether it can move — and roll
a move back to the version and state the instance had.

* A deployment checks what running the file needs before anything is stored: it is UTF-8 BPMN 2.0
  that parses and validates against the schema, holds one process this programme runs, binds every
  service task to the registry and gives every user task a form, and passes bpmnlint's recommended
  rules (`workflows.bpmnlint`: where bpmnlint is not installed, the answer says it was not run). It
  is stored once by SHA-256; a new version is its process's current one: new instances start on it.
* Nothing moves silently: each instance moves in a transaction of its own (`Migrator.migrate`: its
  definition, state, open human tasks, one audit event and the `ProcessMigration` row that keeps what
  it had), and can be rolled back while it has not moved on since.
* Only administrators deploy and migrate (`access.require_process_admin`, refusals audited)."""
from __future__ import annotations

from collections import Counter
from pathlib import PurePath
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from workflows.app import App
from workflows.db.process_models import ProcessDefinition, ProcessInstance
from workflows.db.version_models import MigrationStatus, ProcessMigration
from workflows.services import Conflict, FieldError, Invalid, TooLarge, access
from workflows.services.access import Principal
from workflows.services.process_version_views import (
    change_out,
    changes_from_previous,
    definition_row,
    running_counts,
    subject_refs,
    version_out,
)
from workflows.services.version_outputs import (
    DeployOut,
    InstanceMigrationOut,
    InstanceStepChangeOut,
    MigrationReportOut,
)
from workflows.uow import UnitOfWork

if TYPE_CHECKING:
    from workflows.engine.library import LoadedDefinition
    from workflows.engine.migration import InstancePlan

MAX_BPMN_BYTES = 1_000_000  # within the 1 MB of a form body (workflows/web/limits.py); exchange.bpmn is 110 kB
MAX_REASON = 500


def _reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise Invalid.field("reason", "say why (it is kept on the version's and the instances' history)")
    if len(text) > MAX_REASON:
        raise Invalid.field("reason", f"is {len(text)} characters long; at most {MAX_REASON}")
    return text


def _filename(filename: str) -> str:
    name = PurePath((filename or "").replace("\\", "/")).name.strip()
    if not name.lower().endswith(".bpmn"):
        raise Invalid.field("file", f"{name or 'the file'!r} is not a .bpmn file")
    if len(name) > 200 or any(ord(c) < 32 for c in name):
        raise Invalid.field("file", "the file's name must be at most 200 printable characters")
    return name


def _checked_specs(app: App, content: bytes, name: str) -> dict[str, tuple[object, dict[str, object]]]:
    """Parse and check the file: every problem is a field error on `file` (nothing stored)."""
    from workflows.engine.errors import DefinitionError
    from workflows.engine.library import binding_problems, parse_definitions

    if len(content) > MAX_BPMN_BYTES:
        raise TooLarge(f"file: {name} is {len(content):,} bytes; a BPMN file may have at most {MAX_BPMN_BYTES:,}")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Invalid.field("file", f"{name} is not UTF-8 text (byte {err.start})") from None
    try:
        specs = parse_definitions(content, name)
    except DefinitionError as err:
        raise Invalid.field("file", f"does not parse as BPMN 2.0: {err}") from None
    if len(specs) != 1:
        raise Invalid.field("file", f"{name} holds {len(specs)} executable processes; deploy one process per file")
    with app.uow() as uow:
        known = sorted(uow.session.scalars(select(ProcessDefinition.process_id).distinct()))
    problems = [f"process '{pid}' is not one this programme runs ({', '.join(known)})" for pid in specs
                if pid not in known]
    for spec, _subprocesses in specs.values():
        problems += binding_problems(spec)
    if problems:
        raise Invalid("file: " + "; ".join(problems), [FieldError(("file",), p) for p in problems])
    return specs


def deploy_version(app: App, principal: Principal, content: bytes, filename: str, reason: str | None) -> DeployOut:
    """Check and store a new version of a process; new instances take it. The same file again answers
    the version it is (`created` false) when it is current, and `Conflict` when it is an older one."""
    from workflows import bpmnlint

    access.require_process_admin(app, None, principal, "deploy process versions", subject="process_versions")
    why = _reason(reason)
    name = _filename(filename)
    specs = _checked_specs(app, content, name)
    lint = bpmnlint.lint(content, app.settings.bpmnlint)
    if lint.problems:
        raise Invalid(f"file: bpmnlint's recommended rules: {'; '.join(lint.problems)}",
                      [FieldError(("file",), f"bpmnlint: {p}") for p in lint.problems])
    checks = {"parses": True, "bindings": "every service task bound, every user task has a form",
              "lint": lint.status, "lint_note": lint.note}
    with app.uow() as uow:
        try:
            [(loaded, created)] = app.library.store(uow.session, content, name, specs, uow.now(),
                                                    deployed_by=principal.username, reason=why, checks=checks)
        except IntegrityError:
            raise Conflict("another version of this process was deployed meanwhile: nothing was written, "
                           "look again and retry") from None
        row = definition_row(uow, loaded.id)
        current = app.library.current(uow, loaded.process_id)
        if not created and current.id != loaded.id:
            raise Conflict(f"this file is version {loaded.version} of '{loaded.process_id}', deployed "
                           f"{row.deployed_at:%Y-%m-%d}; the current version is {current.version}. To make it "
                           "current again, deploy it as a new version (change its documentation, for example)")
        previous, changes = changes_from_previous(app, uow, row)
        if created:
            uow.audit(principal.actor, "process_version_deployed", subject=f"process_version:{row.id}",
                      after={"process": row.process_id, "version": row.version, "sha256": row.sha256,
                             "filename": name, "reason": why, "checks": checks, "previous_version": previous,
                             "changes": [c.model_dump() for c in changes]})
        out = DeployOut(created=created, version=version_out(row, {row.process_id: current.version}, running_counts(uow)),
                        lint=lint.note, changes=changes)
        uow.commit()
    return out


# --- moving instances -------------------------------------------------------------------------------

def _target(app: App, uow: UnitOfWork, version_id: int) -> LoadedDefinition:
    return app.library.by_id(uow, definition_row(uow, version_id).id)


def _instance_ids(uow: UnitOfWork, target: LoadedDefinition, asked: list[int] | None, rollback: bool) -> list[int]:
    """The instances asked for (each must exist: a field error names an unknown one), or every one a
    migration may concern: the unfinished instances of the process on another version (for a rollback,
    those moved to this version and still on it)."""
    if asked is None:
        if rollback:
            query = select(ProcessMigration.instance_id).join(
                ProcessInstance, ProcessInstance.id == ProcessMigration.instance_id).where(
                ProcessMigration.to_definition_id == target.id, ProcessMigration.status == MigrationStatus.MIGRATED,
                ProcessInstance.definition_id == target.id)
        else:
            query = select(ProcessInstance.id).where(
                ProcessInstance.process_id == target.process_id, ProcessInstance.status != "completed",
                ProcessInstance.definition_id != target.id)
        return sorted(set(uow.session.scalars(query)))
    if not asked:
        raise Invalid.field("instances", "name at least one instance, or leave it out to take every one")
    unique = list(dict.fromkeys(asked))
    found = set(uow.session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_(
        [i for i in unique if 0 < i <= access.MAX_ID]))))
    missing = [(n, i) for n, i in enumerate(asked) if i not in found]
    if missing:
        raise Invalid("instances: " + "; ".join(f"instance {i} does not exist" for _, i in missing),
                      [FieldError(("instances", n), f"instance {i} does not exist") for n, i in missing])
    return unique


def _result(plan: InstancePlan, ref: str | None, outcome: str, migration_id: int | None = None,
            reasons: list[str] | None = None) -> InstanceMigrationOut:
    from workflows.engine.migration import plan_json

    data = plan_json(plan)
    changes = [InstanceStepChangeOut(**change_out(c.change).model_dump(), where=c.where) for c in plan.changes]
    return InstanceMigrationOut(instance_id=plan.instance_id, subject_ref=ref, from_version=plan.from_version,
                                to_version=plan.to_version, can_move=plan.can_move, outcome=outcome,  # type: ignore[arg-type]
                                reasons=reasons if reasons is not None else data["reasons"],
                                waiting_on=data["waiting_on"], changes=changes, migration_id=migration_id)


def _report(target: LoadedDefinition, results: list[InstanceMigrationOut], dry_run: bool, rollback: bool,
            reason: str | None) -> MigrationReportOut:
    done = {"can move", "moved", "rolled back"}
    reasons = Counter(r for result in results if result.outcome not in done for r in result.reasons)
    return MigrationReportOut(version_id=target.id, process=target.process_id, version=target.version,
                              dry_run=dry_run, rollback=rollback, reason=reason, total=len(results),
                              can_move=sum(r.outcome in done for r in results),
                              cannot_move=sum(r.outcome not in done for r in results),
                              cannot_by_reason=dict(reasons.most_common()), results=results)


def migrate_instances(app: App, principal: Principal, version_id: int, instance_ids: list[int] | None = None,
                      reason: str | None = None, dry_run: bool = False) -> MigrationReportOut:
    """Move the instances (all the unfinished ones of the process on other versions, if none is named)
    to version `version_id`, each in a transaction of its own; with `dry_run` nothing is written and
    each instance's plan says what would change and whether it can move."""
    access.require_process_admin(app, None, principal, "migrate running instances",
                                 subject=f"process_version:{version_id}")
    why = None if dry_run and not (reason or "").strip() else _reason(reason)
    with app.uow() as uow:
        target = _target(app, uow, version_id)
        ids = _instance_ids(uow, target, instance_ids, rollback=False)
    if dry_run:
        return _report(target, _dry_run(app, target, ids), True, False, why)
    return _report(target, [_migrate_one(app, principal, target, i, why or "") for i in ids], False, False, why)


def _dry_run(app: App, target: LoadedDefinition, ids: list[int]) -> list[InstanceMigrationOut]:
    from workflows.engine.migration import Migrator

    migrator = Migrator(app.engine)
    with app.uow() as uow:
        instances = list(uow.session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))
                                             .order_by(ProcessInstance.id)))
        refs = subject_refs(uow, instances)
        results = []
        for instance in instances:
            plan = migrator.plan(uow, instance, target)
            results.append(_result(plan, refs.get(instance.id), "can move" if plan.can_move else "cannot move"))
        return results


def _migrate_one(app: App, principal: Principal, target: LoadedDefinition, instance_id: int,
                 reason: str) -> InstanceMigrationOut:
    from workflows.engine.migration import MigrationRefused, Migrator, plan_json

    with app.uow() as uow:
        instance = uow.session.get(ProcessInstance, instance_id)
        assert instance is not None  # checked by _instance_ids
        ref = subject_refs(uow, [instance]).get(instance.id)
        try:
            moved = Migrator(app.engine).migrate(uow, instance, target, principal.actor, reason)
            migration = ProcessMigration(
                instance_id=instance.id, from_definition_id=moved.from_definition_id, to_definition_id=target.id,
                state_before=moved.state_before, tasks_before=moved.tasks_before,
                lock_version_after=moved.lock_version_after, changes=plan_json(moved.plan), reason=reason,
                migrated_by=principal.username, migrated_at=uow.now(), status=MigrationStatus.MIGRATED)
            uow.session.add(migration)
            uow.session.flush()
            uow.commit()
        except MigrationRefused as err:
            uow.rollback()
            _audit_refusal(app, principal, instance, "process_migration_refused", target.version, err.plan.reasons)
            return _result(err.plan, ref, "refused")
        except (StaleDataError, IntegrityError):
            uow.rollback()
            plan = Migrator(app.engine).plan(uow, instance, target)
            return _result(plan, ref, "conflict", reasons=[CHANGED_MEANWHILE.format(instance_id)])
        return _result(moved.plan, ref, "moved", migration.id)


CHANGED_MEANWHILE = ("instance {} changed meanwhile (a step was done, a timer fired or a message arrived): nothing "
                     "was written, look again and retry")


def rollback_instances(app: App, principal: Principal, version_id: int, instance_ids: list[int] | None = None,
                       reason: str | None = None) -> MigrationReportOut:
    """Put instances moved to version `version_id` back on the version, state and open tasks they had
    (all of them still on it, if none is named), each in a transaction of its own; an instance that
    has moved on since its move (a step done, a timer fired) is not rolled back."""
    access.require_process_admin(app, None, principal, "roll back migrations",
                                 subject=f"process_version:{version_id}")
    why = _reason(reason)
    with app.uow() as uow:
        target = _target(app, uow, version_id)
        ids = _instance_ids(uow, target, instance_ids, rollback=True)
    return _report(target, [_rollback_one(app, principal, target, i, why) for i in ids], False, True, why)


def _rollback_one(app: App, principal: Principal, target: LoadedDefinition, instance_id: int,
                  reason: str) -> InstanceMigrationOut:
    from workflows.engine.migration import InstancePlan, Migrator

    with app.uow() as uow:
        instance = uow.session.get(ProcessInstance, instance_id)
        assert instance is not None  # checked by _instance_ids
        ref = subject_refs(uow, [instance]).get(instance.id)
        move = uow.session.scalars(select(ProcessMigration).where(
            ProcessMigration.instance_id == instance_id, ProcessMigration.to_definition_id == target.id,
            ProcessMigration.status == MigrationStatus.MIGRATED).order_by(ProcessMigration.id.desc())).first()
        back = app.library.by_id(uow, move.from_definition_id) if move is not None else None
        plan = InstancePlan(instance_id, instance.process_id, target.version, back.version if back else 0)
        if move is None or back is None:
            plan.reasons.append(f"it was not migrated to version {target.version} (or that move was rolled back)")
        elif instance.definition_id != target.id or instance.lock_version != move.lock_version_after:
            plan.reasons.append(f"it has moved on since it was migrated on {move.migrated_at:%Y-%m-%d %H:%M} (a step "
                                "was done, a timer fired or a message arrived): a rollback would undo that; "
                                f"migrate it to version {back.version} instead")
        if move is None or back is None or plan.reasons:
            uow.rollback()
            _audit_refusal(app, principal, instance, "process_rollback_refused", target.version, plan.reasons)
            return _result(plan, ref, "refused")
        try:
            Migrator(app.engine).restore(uow, instance, back, move.state_before, move.tasks_before,
                                         principal.actor, reason)
            move.status, move.rolled_back_by = MigrationStatus.ROLLED_BACK, principal.username
            move.rolled_back_at, move.rollback_reason = uow.now(), reason
            uow.commit()
        except StaleDataError:
            return _result(plan, ref, "conflict", reasons=[CHANGED_MEANWHILE.format(instance_id)])
        return _result(plan, ref, "rolled back", move.id)


def _audit_refusal(app: App, principal: Principal, instance: ProcessInstance, action: str, version: int,
                   reasons: list[str]) -> None:
    """A move or rollback that could not be made is kept on the instance's history all the same."""
    with app.uow() as uow:
        uow.audit(principal.actor, action, instance_id=instance.id,
                  subject=f"{instance.subject_type}:{instance.subject_id}",
                  after={"version": version, "reasons": reasons})
        uow.commit()
