"""Process versions (SPEC §14): list them, deploy a new one (multipart upload), and move running
instances to one — a dry run first, then the move, and a rollback — or read one with its history."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflows.services.process_versions import MAX_BPMN_BYTES, MAX_REASON
from workflows.services.version_outputs import DeployOut, MigrationReportOut, ProcessVersionDetail, ProcessVersionOut
from workflows.web.deps import AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/process-versions", responses=answers(*SIGNED_IN), tags=["process versions"])
InstanceId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class MigrateIn(BaseModel):
    """What to move where: the instances (none named: every unfinished instance of the process on
    another version; for a rollback, every instance moved to this version and still on it)."""

    model_config = ConfigDict(extra="forbid")  # a mistyped "dry_run" must never start a real migration

    instances: list[InstanceId] | None = Field(None, max_length=10_000, description="instance ids")
    dry_run: bool = Field(False, description="only say, per instance, what would change and whether it can move")
    rollback: bool = Field(False, description="put the instances moved to this version back on the version and "
                                              "state they had")
    reason: str | None = Field(None, max_length=MAX_REASON, description="why (required unless a dry run)")

    @model_validator(mode="after")
    def _one_action(self) -> MigrateIn:
        if self.dry_run and self.rollback:
            raise ValueError("a rollback has no dry run: ask for one or the other")
        return self


@router.get("", response_model=list[ProcessVersionOut])
def versions(cxp: AppDep, principal: PrincipalDep) -> list[ProcessVersionOut]:
    """Every deployed version of every process, newest first, with the unfinished instances on it
    (administrators and auditors)."""
    from workflows.services.process_version_views import list_versions

    return list_versions(cxp, principal)


@router.get("/{version_id}", response_model=ProcessVersionDetail)
def version(version_id: int, cxp: AppDep, principal: PrincipalDep) -> ProcessVersionDetail:
    """One version: what changed from the previous one, its history (deployed, instances moved to
    it, moves rolled back: who, when, why) and the unfinished instances a migration could move."""
    from workflows.services.process_version_views import version_detail

    return version_detail(cxp, principal, version_id)


@router.post("", response_model=DeployOut, status_code=201, responses=answers(409, 413))
def deploy(response: Response, cxp: AppDep, principal: PrincipalDep,
           file: Annotated[UploadFile, File(description="the BPMN 2.0 file of one process")],
           reason: Annotated[str, Form(max_length=MAX_REASON, description="why this version")] = "") -> DeployOut:
    """Deploy a new version of a process after its checks (it parses, every service task is bound,
    every user task has a form, bpmnlint's recommended rules pass): new instances take it (201). The
    same file as the current version answers that version (200); as an older one, 409."""
    from workflows.services.process_versions import deploy_version

    out = deploy_version(cxp, principal, file.file.read(MAX_BPMN_BYTES + 1), file.filename or "", reason)
    if not out.created:
        response.status_code = 200
    return out


@router.post("/{version_id}/migrate", response_model=MigrationReportOut, responses=answers(409))
def migrate(version_id: int, body: MigrateIn, cxp: AppDep, principal: PrincipalDep) -> MigrationReportOut:
    """Move running instances to this version, each in one audited transaction that keeps its data,
    or (`dry_run`) say per instance what changes and whether it can move, or (`rollback`) put moved
    instances back on the version they had (administrators only)."""
    from workflows.services.process_versions import migrate_instances, rollback_instances

    if body.rollback:
        return rollback_instances(cxp, principal, version_id, body.instances, body.reason)
    return migrate_instances(cxp, principal, version_id, body.instances, body.reason, body.dry_run)
