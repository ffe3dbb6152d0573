"""What the administration pages read: the partnerships (as choices) and the deployed process versions.

Read-only, for administrators only (a refusal is audited by `access.require_role`); managing users is
`workflows.services.accounts`; calls, budgets, rule sets, partnerships and organisations are
`workflows.services.call_admin`, `calls`, `call_views`, `rule_sets` and `partnerships`."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from workflows.app import App
from workflows.services.access import Principal, require_role

ADMINS = frozenset({"administrator"})


class PartnershipRow(BaseModel):
    code: str
    name: str
    country: str | None


class ProcessVersionRow(BaseModel):
    process_id: str
    version: int
    sha256: str
    filename: str
    deployed_at: datetime


def list_partnerships(app: App, principal: Principal) -> list[PartnershipRow]:
    """Every partnership by code (the choices of a new officer's or finance user's partnership)."""
    from workflows.db.models import Partnership

    require_role(app, None, principal, ADMINS, "list the partnerships")
    with app.uow() as uow:
        return [PartnershipRow(code=p.code, name=p.name, country=p.country)
                for p in uow.session.scalars(select(Partnership).order_by(Partnership.code))]


def list_process_versions(app: App, principal: Principal) -> list[ProcessVersionRow]:
    """Every deployed BPMN version (process id, version, SHA-256, file, when deployed), by process and
    newest version first."""
    from workflows.db.process_models import ProcessDefinition

    require_role(app, None, principal, ADMINS, "list the deployed process versions")
    with app.uow() as uow:
        query = select(ProcessDefinition.process_id, ProcessDefinition.version, ProcessDefinition.sha256,
                       ProcessDefinition.filename, ProcessDefinition.deployed_at).order_by(
            ProcessDefinition.process_id, ProcessDefinition.version.desc())
        return [ProcessVersionRow(process_id=r[0], version=r[1], sha256=r[2], filename=r[3], deployed_at=r[4])
                for r in uow.session.execute(query)]
