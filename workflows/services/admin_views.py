"""What the administration pages read: the calls, the partnerships and the deployed process versions.

Read-only, for administrators only (a refusal is audited by `access.require_role`); managing users is
`workflows.services.accounts`, raising a call's budget `workflows.services.calls`."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import select

from workflows.app import App
from workflows.services.access import Principal, require_role

ADMINS = frozenset({"administrator"})


class CallRow(BaseModel):
    code: str
    title: str
    opens_on: date
    closes_on: date
    matching_deadline: datetime
    budget: Decimal
    status: str
    rule_set: str
    lead_partnership: str
    partnerships: list[str]


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


def list_calls(app: App, principal: Principal) -> list[CallRow]:
    """Every call, newest opening first, with its lead and participating partnerships."""
    from workflows.db.models import Call

    require_role(app, None, principal, ADMINS, "list the calls")
    with app.uow() as uow:
        calls = uow.session.scalars(select(Call).order_by(Call.opens_on.desc(), Call.code)).all()
        return [CallRow(code=c.code, title=c.title, opens_on=c.opens_on, closes_on=c.closes_on,
                        matching_deadline=c.matching_deadline, budget=c.budget.quantize(Decimal("0.01")),
                        status=c.status, rule_set=c.rule_set_version, lead_partnership=c.lead_partnership.code,
                        partnerships=sorted(p.code for p in c.partnerships)) for c in calls]


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
