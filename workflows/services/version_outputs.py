"""What the process-version use cases answer (`workflows.services.process_versions`): the deployed
versions, what changed from one to the next, the moves of running instances and their history."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from workflows.services.outputs import Out


class StepChangeOut(Out):
    """One element of the diagram added, removed or changed from one version to the next."""

    step: str  # the BPMN element id (in the new version for an added one)
    label: str
    kind: str  # "user task", "service task", "intermediate catch event", …
    change: Literal["added", "removed", "changed"]
    fields: list[str] = []  # what changed, in words ("name", "lane", "outgoing flows", …)
    to_step: str | None = None  # the new version's id of a step whose id changed
    to_label: str | None = None  # the new version's name of a step whose name changed


class InstanceStepChangeOut(StepChangeOut):
    """A change as one instance meets it: it waits on that step, has done it, or has not reached it."""

    where: Literal["waiting", "done", "not reached"]


class ProcessVersionOut(Out):
    id: int
    process: str
    version: int
    sha256: str
    filename: str
    deployed_at: datetime
    deployed_by: str | None = None  # None: deployed from the package by `cxp init`
    reason: str | None = None
    checks: dict[str, Any] | None = None  # what the deployment checked, lint's status among them
    current: bool  # new instances of the process start on this version
    running: int  # unfinished instances on this version


class VersionHistoryOut(Out):
    """One change on a version's history: its deployment, an instance moved to it, a move rolled back."""

    at: datetime
    action: Literal["deployed", "migrated", "rolled_back"]
    by: str
    reason: str | None = None
    instance_id: int | None = None
    subject_ref: str | None = None
    from_version: int | None = None
    rolled_back: bool = False  # a "migrated" line whose move was rolled back since


class CandidateOut(Out):
    """An unfinished instance of the process, on another version: one a migration may move."""

    instance_id: int
    subject_ref: str | None = None
    version: int
    status: str
    waiting_on: list[str] = []  # the open human tasks' names


class ProcessVersionDetail(ProcessVersionOut):
    previous_version: int | None = None
    changes: list[StepChangeOut] = []  # from the previous version to this one
    history: list[VersionHistoryOut] = []
    candidates: list[CandidateOut] = []


class DeployOut(Out):
    created: bool  # False: this very file (same SHA-256) is this process's current version already
    version: ProcessVersionOut
    lint: str  # "clean", or why bpmnlint was not run
    changes: list[StepChangeOut] = []  # from the version it replaces


class InstanceMigrationOut(Out):
    """One instance in a migration (or its dry run, or a rollback)."""

    instance_id: int
    subject_ref: str | None = None
    from_version: int
    to_version: int
    can_move: bool
    outcome: Literal["can move", "cannot move", "moved", "refused", "conflict", "rolled back"]
    reasons: list[str] = []
    waiting_on: list[str] = []
    changes: list[InstanceStepChangeOut] = []
    migration_id: int | None = None


class MigrationReportOut(Out):
    version_id: int
    process: str
    version: int
    dry_run: bool
    rollback: bool = False
    reason: str | None = None
    total: int
    can_move: int  # dry run: can move; migration: moved; rollback: rolled back
    cannot_move: int
    cannot_by_reason: dict[str, int] = {}
    results: list[InstanceMigrationOut] = []
