"""Conflicts of interest (R-4EYES): an officer or finance user declares one with an organisation;
from then on the rules refuse them every action on that organisation's files, with the reason in
words (`access.task_action_problem`, `exchange_action_problem`, `release_problem`)."""
from __future__ import annotations

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import ConflictDeclaration, Organisation, User
from workflows.services import Invalid, access
from workflows.services.access import Principal
from workflows.services.outputs import ConflictOut
from workflows.uow import UnitOfWork

DECLARERS = ("officer", "finance")


def _out(uow: UnitOfWork, row: ConflictDeclaration) -> ConflictOut:
    org = uow.session.get(Organisation, row.organisation_id)
    user = uow.session.get(User, row.user_id)
    return ConflictOut(user=user.username if user else "", organisation=org.legal_name if org else "",
                       legal_id=org.legal_id if org else "", declared_at=row.declared_at)


def declare_conflict(app: App, principal: Principal, legal_id: str, reason: str) -> ConflictOut:
    """Record the principal's conflict of interest with the organisation `legal_id` (audited
    `conflict_declared` with its reason); declaring it again answers the one recorded."""
    if not reason.strip():
        raise Invalid.field("reason", "say why you have a conflict of interest (kept in the audit trail)")
    with app.uow() as uow:
        access.require_role(app, uow, principal, DECLARERS, "declare conflicts of interest")
        org = uow.session.scalars(select(Organisation).where(Organisation.legal_id == legal_id.strip())).first()
        if org is None:
            raise Invalid.field("organisation", f"no organisation has the legal id {legal_id.strip()!r}")
        known = uow.session.scalars(select(ConflictDeclaration).where(
            ConflictDeclaration.user_id == principal.user_id, ConflictDeclaration.organisation_id == org.id)).first()
        if known is not None:
            return _out(uow, known)
        row = ConflictDeclaration(user_id=principal.user_id, organisation_id=org.id, declared_at=uow.now())
        uow.session.add(row)
        uow.session.flush()
        uow.audit(principal.actor, "conflict_declared", subject=org.legal_id,
                  after={"organisation": org.legal_name, "reason": reason.strip()[:500]})
        out = _out(uow, row)
        uow.commit()
        return out


def my_conflicts(app: App, principal: Principal) -> list[ConflictOut]:
    """The conflicts of interest the principal declared, oldest first."""
    with app.uow() as uow:
        rows = uow.session.scalars(select(ConflictDeclaration).where(
            ConflictDeclaration.user_id == (principal.user_id or -1)).order_by(ConflictDeclaration.id))
        return [_out(uow, row) for row in rows]


def organisation_choices(app: App, principal: Principal) -> list[tuple[str, str]]:
    """(legal id, "name (country)") of the active organisations, for the declaration's list."""
    with app.uow() as uow:
        return [(o.legal_id, f"{o.legal_name} ({o.country})") for o in uow.session.scalars(
            select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.legal_name))]
