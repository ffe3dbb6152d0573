"""Who may do what: the one module that decides, for every use case and every read.

Every entry point resolves a `Principal` once — the CLI from `--user`, the HTTP API from a bearer
token, the web pages from the session cookie, a flow as `SYSTEM` — and passes it to the use case.
The use case asks this module:

- *reads*: `visible_task`, `visible_instance`, `visible_exchange`, `visible_batch` return the record
  or raise `NotFound` with the same sentence as for an id that does not exist, so that an officer of
  another partnership learns nothing about it (HTTP 404); `exchange_scope` and `batch_scope` are the
  same rule as a SQL condition for listings;
- *actions*: `require_role` and the task checks return or call `refuse`, the one helper that rolls
  the refused transaction back, writes the `access_refused` (or given) audit event in a transaction
  of its own and raises `Refused` (HTTP 403, exit 3).

Who sees what (SPEC §10): an officer or finance user the records of their own partnership; an
applicant their own organisation's tasks and exchanges; an auditor everything, changing nothing; an
administrator everything, and manages calls, users, rule sets and process versions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, NoReturn

from sqlalchemy import ColumnElement, false, or_, select, true

from workflows.audit import Actor
from workflows.services import NotFound, Refused

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.db.models import Exchange, User
    from workflows.db.process_models import HumanTask, PaymentBatch, ProcessInstance
    from workflows.uow import UnitOfWork

READ_ALL = frozenset({"auditor", "administrator", "system"})  # the system: flows and timers
PARTNERSHIP_ROLES = frozenset({"officer", "finance"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: resolved once by the entry point and passed to every use case."""

    user_id: int | None
    username: str
    role: str
    partnership_id: int | None = None
    organisation_id: int | None = None
    display_name: str = ""

    @property
    def actor(self) -> Actor:
        """The principal as the audit trail records it."""
        return Actor(self.user_id, self.username, self.role)

    @property
    def reads_all(self) -> bool:
        return self.role in READ_ALL


SYSTEM = Principal(None, "system", "system", display_name="ClusterXchange")


def principal_of(user: "User") -> Principal:
    return Principal(user.id, user.username, user.role, user.partnership_id, user.organisation_id,
                     user.display_name)


def principal_for(uow: "UnitOfWork", username: str) -> Principal:
    """The active user `username` as a principal (the CLI's `--user`); `NotFound` names the option."""
    from workflows.db.models import User

    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotFound(f"user: no active user '{username}'")
    return principal_of(user)


def principal_by_name(app: "App", username: str) -> Principal:
    """`principal_for` in a unit of work of its own (for entry points that hold none)."""
    with app.uow() as uow:
        return principal_for(uow, username)


# --- refusing ------------------------------------------------------------------------------------

def refuse(app: "App", uow: "UnitOfWork | None", principal: Principal, reason: str,
           action: str = "access_refused", **where: Any) -> NoReturn:
    """Roll back the refused transaction (nothing of it is kept, and its write lock is let go), audit
    the refusal in a transaction of its own, and raise `Refused(reason)`. `where` may name the
    `instance_id`, `task` and `subject` of the audit event; `after` extra data (the reason is added)."""
    after = {**(where.pop("after", None) or {}), "reason": reason}
    if uow is not None:
        uow.rollback()
    with app.uow() as audit_uow:
        audit_uow.audit(principal.actor, action, after=after, **where)
        audit_uow.commit()
    raise Refused(reason)


def require_role(app: "App", uow: "UnitOfWork | None", principal: Principal, roles: Iterable[str],
                 what: str, **where: Any) -> None:
    """Refuse (audited) unless the principal has one of `roles`; `what` completes the sentence
    "… may not {what}"."""
    allowed = frozenset(roles)
    if principal.role not in allowed:
        refuse(app, uow, principal, f"{principal.username} is {principal.role} and may not {what} "
                                    f"(only {', '.join(sorted(allowed))})", **where)


ACCOUNT_ADMINS = frozenset({"administrator", "system"})  # who manages users (the CLI's operator is system)


def require_account_admin(app: "App", uow: "UnitOfWork | None", principal: Principal, what: str,
                          **where: Any) -> None:
    """Refuse (audited) unless the principal manages users: an administrator, or the system."""
    require_role(app, uow, principal, ACCOUNT_ADMINS, what, **where)


def require_self_or_account_admin(app: "App", uow: "UnitOfWork | None", principal: Principal, username: str,
                                  what: str, **where: Any) -> None:
    """Refuse (audited) unless the principal is the user `username` or manages users."""
    if principal.role in ACCOUNT_ADMINS or (principal.user_id is not None and principal.username == username):
        return
    refuse(app, uow, principal, f"{principal.username} may not {what} of {username} (only the user themself "
                                f"or an administrator)", **where)


# --- reads ---------------------------------------------------------------------------------------

def sees_task(principal: Principal, task: "HumanTask | Any") -> bool:
    if principal.reads_all:
        return True
    if principal.role in PARTNERSHIP_ROLES:
        return task.partnership_id is not None and task.partnership_id == principal.partnership_id
    if principal.role == "applicant":
        return task.organisation_id is not None and task.organisation_id == principal.organisation_id
    return False


def sees_exchange(principal: Principal, exchange: "Exchange") -> bool:
    if principal.reads_all:
        return True
    if principal.role in PARTNERSHIP_ROLES:
        return principal.partnership_id in (exchange.visitor_partnership_id, exchange.host_partnership_id)
    if principal.role == "applicant":
        return principal.organisation_id in (exchange.visitor_org_id, exchange.host_org_id)
    return False


def sees_batch(principal: Principal, batch: "PaymentBatch") -> bool:
    if principal.reads_all:
        return True
    return principal.role in PARTNERSHIP_ROLES and batch.partnership_id == principal.partnership_id


def sees_instance(uow: "UnitOfWork", principal: Principal, instance: "ProcessInstance") -> bool:
    """An instance is seen by whoever sees its subject: the exchange, the application (its
    partnership and organisation) or the call (the partnerships taking part)."""
    from workflows.db.models import Application, Exchange, call_partnerships

    if principal.reads_all:
        return True
    if principal.role not in PARTNERSHIP_ROLES | {"applicant"}:
        return False
    if instance.subject_type == "exchange":
        exchange = uow.session.get(Exchange, instance.subject_id)
        return exchange is not None and sees_exchange(principal, exchange)
    if instance.subject_type == "application":
        application = uow.session.get(Application, instance.subject_id)
        if application is None:
            return False
        if principal.role == "applicant":
            return application.organisation_id == principal.organisation_id
        return application.partnership_id == principal.partnership_id
    if instance.subject_type == "call" and principal.role in PARTNERSHIP_ROLES:
        return uow.session.scalar(select(call_partnerships.c.partnership_id).where(
            call_partnerships.c.call_id == instance.subject_id,
            call_partnerships.c.partnership_id == principal.partnership_id)) is not None
    return False


def visible_task(uow: "UnitOfWork", principal: Principal, task_id: int) -> "HumanTask":
    from workflows.db.process_models import HumanTask

    task = uow.session.get(HumanTask, task_id)
    if task is None or not sees_task(principal, task):
        raise NotFound(f"task {task_id} does not exist")
    return task


def visible_instance(uow: "UnitOfWork", principal: Principal, instance_id: int) -> "ProcessInstance":
    from workflows.db.process_models import ProcessInstance

    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None or not sees_instance(uow, principal, instance):
        raise NotFound(f"instance {instance_id} does not exist")
    return instance


def visible_exchange(uow: "UnitOfWork", principal: Principal, ref: str) -> "Exchange":
    """The exchange by its reference (EX-000123, any case) or its id."""
    from workflows.db.models import Exchange

    text = str(ref).strip().upper()
    where = Exchange.id == int(text) if text.isdigit() else Exchange.ref == text
    exchange = uow.session.scalars(select(Exchange).where(where)).first()
    if exchange is None or not sees_exchange(principal, exchange):
        raise NotFound(f"exchange {text} does not exist")
    return exchange


def visible_batch(uow: "UnitOfWork", principal: Principal, batch: str | int) -> "PaymentBatch":
    """The payment batch by its message id (CXP-…) or its id."""
    from workflows.db.process_models import PaymentBatch

    text = str(batch).strip()
    where = PaymentBatch.id == int(text) if text.isdigit() else PaymentBatch.msg_id == text
    row = uow.session.scalars(select(PaymentBatch).where(where)).first()
    if row is None or not sees_batch(principal, row):
        raise NotFound(f"payment batch {text} does not exist")
    return row


def exchange_scope(principal: Principal) -> ColumnElement[bool]:
    """`sees_exchange` as a SQL condition on `exchanges`, for searches and listings."""
    from workflows.db.models import Exchange

    if principal.reads_all:
        return true()
    if principal.role in PARTNERSHIP_ROLES and principal.partnership_id is not None:
        return or_(Exchange.visitor_partnership_id == principal.partnership_id,
                   Exchange.host_partnership_id == principal.partnership_id)
    if principal.role == "applicant" and principal.organisation_id is not None:
        return or_(Exchange.visitor_org_id == principal.organisation_id,
                   Exchange.host_org_id == principal.organisation_id)
    return false()


def batch_scope(principal: Principal) -> ColumnElement[bool]:
    """`sees_batch` as a SQL condition on `payment_batches`."""
    from workflows.db.process_models import PaymentBatch

    if principal.reads_all:
        return true()
    if principal.role in PARTNERSHIP_ROLES and principal.partnership_id is not None:
        return PaymentBatch.partnership_id == principal.partnership_id
    return false()


def may_upload_evidence(principal: Principal, exchange: "Exchange") -> str | None:
    """Why the principal (who sees the exchange) may not upload its evidence, or None: the visiting
    or host organisation's applicants, the visitor's partnership officers, an administrator."""
    if principal.role == "administrator":
        return None
    if principal.role == "applicant" and principal.organisation_id in (exchange.visitor_org_id, exchange.host_org_id):
        return None
    if principal.role == "officer" and principal.partnership_id == exchange.visitor_partnership_id:
        return None
    return (f"{principal.username} is {principal.role} and may not upload evidence for {exchange.ref} "
            "(its organisations' applicants and the visitor's partnership officers may)")
