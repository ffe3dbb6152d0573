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
administrator everything, and manages calls, users, rule sets and process versions — and acts in no
one else's lane: no officer's, finance's or applicant's task, no bank-file import (reassigning a task
and retrying an incident are administration, and stay theirs)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import ColumnElement, false, or_, select, true

from workflows.audit import Actor
from workflows.db.base import must_get
from workflows.services import NotFound, Refused

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.db.models import Application, Exchange, Organisation, User
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


def principal_of(user: User) -> Principal:
    return Principal(user.id, user.username, user.role, user.partnership_id, user.organisation_id,
                     user.display_name)


def principal_for(uow: UnitOfWork, username: str) -> Principal:
    """The active user `username` as a principal (the CLI's `--user`); `NotFound` names the option."""
    from workflows.db.models import User

    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotFound(f"user: no active user '{username}'")
    return principal_of(user)


def principal_by_name(app: App, username: str) -> Principal:
    """`principal_for` in a unit of work of its own (for entry points that hold none)."""
    with app.uow() as uow:
        return principal_for(uow, username)


# --- refusing ------------------------------------------------------------------------------------

def refuse(app: App, uow: UnitOfWork | None, principal: Principal, reason: str,
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


def require_role(app: App, uow: UnitOfWork | None, principal: Principal, roles: Iterable[str],
                 what: str, **where: Any) -> None:
    """Refuse (audited) unless the principal has one of `roles`; `what` completes the sentence
    "… may not {what}"."""
    allowed = frozenset(roles)
    if principal.role not in allowed:
        refuse(app, uow, principal, f"{principal.username} is {principal.role} and may not {what} "
                                    f"(only {', '.join(sorted(allowed))})", **where)


ACCOUNT_ADMINS = frozenset({"administrator", "system"})  # who manages users (the CLI's operator is system)


def require_account_admin(app: App, uow: UnitOfWork | None, principal: Principal, what: str,
                          **where: Any) -> None:
    """Refuse (audited) unless the principal manages users: an administrator, or the system."""
    require_role(app, uow, principal, ACCOUNT_ADMINS, what, **where)


def require_self_or_account_admin(app: App, uow: UnitOfWork | None, principal: Principal, username: str,
                                  what: str, **where: Any) -> None:
    """Refuse (audited) unless the principal is the user `username` or manages users."""
    if principal.role in ACCOUNT_ADMINS or (principal.user_id is not None and principal.username == username):
        return
    refuse(app, uow, principal, f"{principal.username} may not {what} of {username} (only the user themself "
                                f"or an administrator)", **where)


# --- reads ---------------------------------------------------------------------------------------

def sees_task(principal: Principal, task: HumanTask | Any) -> bool:
    if principal.reads_all:
        return True
    if principal.role in PARTNERSHIP_ROLES:
        return task.partnership_id is not None and task.partnership_id == principal.partnership_id
    if principal.role == "applicant":
        return task.organisation_id is not None and task.organisation_id == principal.organisation_id
    return False


def sees_exchange(principal: Principal, exchange: Exchange) -> bool:
    if principal.reads_all:
        return True
    if principal.role in PARTNERSHIP_ROLES:
        return principal.partnership_id in (exchange.visitor_partnership_id, exchange.host_partnership_id)
    if principal.role == "applicant":
        return principal.organisation_id in (exchange.visitor_org_id, exchange.host_org_id)
    return False


def sees_batch(principal: Principal, batch: PaymentBatch) -> bool:
    if principal.reads_all:
        return True
    return principal.role in PARTNERSHIP_ROLES and batch.partnership_id == principal.partnership_id


def sees_instance(uow: UnitOfWork, principal: Principal, instance: ProcessInstance) -> bool:
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


MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a larger number names no record


def _id_of(text: str) -> int | None:
    """`text` as a record id when it is one (digits, within MAX_ID), else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID else None


def _no_such(key: int | str) -> bool:
    """A key no record can have: out of the id range, or text a database cannot hold (NUL)."""
    return not 0 < key <= MAX_ID if isinstance(key, int) else "\x00" in key


def visible_task(uow: UnitOfWork, principal: Principal, task_id: int) -> HumanTask:
    from workflows.db.process_models import HumanTask

    task = None if _no_such(task_id) else uow.session.get(HumanTask, task_id)
    if task is None or not sees_task(principal, task):
        raise NotFound(f"task {task_id} does not exist")
    return task


def visible_instance(uow: UnitOfWork, principal: Principal, instance_id: int) -> ProcessInstance:
    from workflows.db.process_models import ProcessInstance

    instance = None if _no_such(instance_id) else uow.session.get(ProcessInstance, instance_id)
    if instance is None or not sees_instance(uow, principal, instance):
        raise NotFound(f"instance {instance_id} does not exist")
    return instance


def visible_exchange(uow: UnitOfWork, principal: Principal, ref: str) -> Exchange:
    """The exchange by its reference (EX-000123, any case) or its id."""
    from workflows.db.models import Exchange

    text = str(ref).strip().upper()
    key = _id_of(text)
    where = Exchange.id == key if key is not None else Exchange.ref == text
    exchange = None if _no_such(text) else uow.session.scalars(select(Exchange).where(where)).first()
    if exchange is None or not sees_exchange(principal, exchange):
        raise NotFound(f"exchange {text} does not exist")
    return exchange


def visible_batch(uow: UnitOfWork, principal: Principal, batch: str | int) -> PaymentBatch:
    """The payment batch by its message id (CXP-…) or its id."""
    from workflows.db.process_models import PaymentBatch

    text = str(batch).strip()
    key = _id_of(text)
    where = PaymentBatch.id == key if key is not None else PaymentBatch.msg_id == text
    row = None if _no_such(text) else uow.session.scalars(select(PaymentBatch).where(where)).first()
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


# --- acting on tasks -----------------------------------------------------------------------------

PARTNERSHIP_SIGNATURES = ("sign_commitment_visitor_officer", "sign_commitment_host_officer")
FOUR_EYES_ACTIONS = {**dict.fromkeys(PARTNERSHIP_SIGNATURES, "sign_commitment_partnership"),
                     "validate_evidence": "validate_evidence", "approve_payment": "approve_payment",
                     "verify_bank_details": "verify_bank_details"}


# the four-eyes action → the steps whose completers may not do it (rules.four_eyes.check_action)
_BARRED_BY = {"approve_payment": ("validate_evidence",), "sign_commitment_partnership": PARTNERSHIP_SIGNATURES}


def conflicts_of(uow: UnitOfWork, principal: Principal) -> frozenset[int]:
    """The organisations the principal declared a conflict of interest with (R-4EYES bars them from
    those organisations' files)."""
    return _conflicts(uow, principal)


def _conflicts(uow: UnitOfWork, principal: Principal) -> frozenset[int]:
    """The organisations the principal declared a conflict of interest with."""
    from workflows.db.models import ConflictDeclaration

    if principal.user_id is None:
        return frozenset()
    return frozenset(uow.session.scalars(select(ConflictDeclaration.organisation_id).where(
        ConflictDeclaration.user_id == principal.user_id)))


def _org_names(uow: UnitOfWork, org_ids: Iterable[int], conflicts: Iterable[int] = ()) -> tuple[tuple[int, str], ...]:
    """(id, legal name) of the file's organisations the actor declared a conflict with, so that the
    refusal names them in words (R-4EYES names no other: none is read when there is no conflict)."""
    from workflows.db.models import Organisation

    ids = sorted(set(org_ids) & set(conflicts))
    if not ids:
        return ()
    return tuple((i, n) for i, n in uow.session.execute(
        select(Organisation.id, Organisation.legal_name).where(Organisation.id.in_(ids)).order_by(Organisation.id)))


def _file_orgs(uow: UnitOfWork, instance_id: int) -> frozenset[int]:
    """The organisations of the instance's file: an exchange's visitor and host (none for a call's or
    an organisation's own process). One query; the instance's serialized state is not read."""
    from workflows.db.models import Exchange
    from workflows.db.process_models import ProcessInstance

    row = uow.session.execute(
        select(Exchange.visitor_org_id, Exchange.host_org_id).select_from(ProcessInstance)
        .join(Exchange, Exchange.id == ProcessInstance.subject_id)
        .where(ProcessInstance.id == instance_id, ProcessInstance.subject_type == "exchange")).first()
    return frozenset(o for o in (row or ()) if o is not None)


def _completed_by(uow: UnitOfWork, instance_id: int, task_specs: Iterable[str]) -> dict[str, frozenset[int]]:
    """Who completed each of these steps of the instance (R-4EYES: who validated, signed, approved)."""
    from workflows.db.process_models import HumanTask

    done: dict[str, set[int]] = {spec: set() for spec in task_specs}
    if not done:
        return {}
    for spec, user_id in uow.session.execute(select(HumanTask.task_spec, HumanTask.completed_by).where(
            HumanTask.instance_id == instance_id, HumanTask.task_spec.in_(sorted(done)),
            HumanTask.status == "completed", HumanTask.completed_by.is_not(None))):
        if user_id is not None:  # the query leaves none out; the type does not know it
            done[spec].add(user_id)
    return {spec: frozenset(users) for spec, users in done.items()}


def lane_problem(principal: Principal, task: HumanTask | Any) -> str | None:
    """Why the principal is not in the task's lane (role, organisation, partnership), or None. An
    administrator is in the administrator lane only: they never claim or complete an officer's, finance's
    or applicant's task (the second signature of R-4EYES is an officer's); they may reassign and release
    one (`reassign_problem`, `task_release_problem`), which is administration."""
    if principal.role != task.role:
        return f"task {task.id} belongs to the {task.lane} lane ({task.role}); {principal.username} is {principal.role}"
    if principal.role == "applicant" and principal.organisation_id != task.organisation_id:
        return f"task {task.id} belongs to another organisation"
    if principal.role in PARTNERSHIP_ROLES and task.partnership_id not in (None, principal.partnership_id):
        return f"task {task.id} belongs to another partnership"
    return None


def may_claim(principal: Principal, task: HumanTask | Any) -> bool:
    """Whether the principal's lane lets them claim `task` at all (an auditor never may): the inbox
    shows a Claim button only then; the claim itself is still checked by `task_action_problem`."""
    return lane_problem(principal, task) is None


def task_action_problem(uow: UnitOfWork, principal: Principal, task: HumanTask,
                        data: Any = None) -> str | None:
    """Why the principal may not claim or complete the open `task` (assignee, lane, partnership,
    R-4EYES and, for an approved override, the second person), or None."""
    from rules.four_eyes import ActionContext, check_action
    from workflows.db.models import Claim
    from workflows.db.process_models import ProcessInstance

    if task.assignee_id is not None and task.assignee_id != principal.user_id:
        return f"task {task.id} is claimed by someone else"
    problem = lane_problem(principal, task)
    if problem:
        return problem
    actor_id = principal.user_id or 0
    action = FOUR_EYES_ACTIONS.get(task.task_spec, "complete_task")
    file_orgs, conflicts = _file_orgs(uow, task.instance_id), _conflicts(uow, principal)
    # who did the earlier steps that bar this one (R-4EYES): read only for the steps they bar
    done = _completed_by(uow, task.instance_id, _BARRED_BY.get(action, ()))
    decision = check_action(ActionContext(
        action=action, actor_id=actor_id, file_org_ids=file_orgs, actor_conflicts=conflicts,
        org_names=_org_names(uow, file_orgs, conflicts),
        evidence_validators=done.get("validate_evidence", frozenset()),
        partnership_signers=frozenset().union(*(done.get(spec, frozenset()) for spec in PARTNERSHIP_SIGNATURES
                                                if spec != task.task_spec)),
        payment_approvers=frozenset()))  # a batch's approvers: release_problem
    if not decision.ok:
        return " ".join(r.message for r in decision.reasons)
    if task.task_spec == "approve_payment" and (data or {}).get("decision") == "approve":
        instance = must_get(uow.session, ProcessInstance, task.instance_id)
        claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == instance.subject_id)).first()
        if claim is not None and claim.override:
            proposers = frozenset(p for p in [claim.override.get("proposed_by")] if p is not None)
            override = check_action(ActionContext(action="approve_override", actor_id=actor_id,
                                                  override_proposers=proposers))
            if not override.ok:
                return " ".join(r.message for r in override.reasons)
    return None


def task_release_problem(principal: Principal, task: HumanTask) -> str | None:
    """Why the principal may not give the open `task` back to its team: someone else's claim (an
    administrator may release anyone's), or not in the task's lane."""
    if principal.role == "administrator":
        return None
    if task.assignee_id not in (None, principal.user_id):
        return f"task {task.id} is claimed by someone else"
    return lane_problem(principal, task)


def reassign_problem(principal: Principal, task: HumanTask, to: Principal) -> str | None:
    """Why the principal may not hand the open `task` to `to`: an officer or finance user hands a task
    of their partnership to a colleague of the same role and partnership; an administrator to anyone
    who has the task's role (and its partnership or organisation)."""
    if principal.role == "administrator":
        if to.role != task.role:
            return f"{to.username} is {to.role}; task {task.id} needs a {task.role}"
        return lane_problem(to, task)
    if principal.role not in PARTNERSHIP_ROLES:
        return f"{principal.username} is {principal.role} and may not reassign tasks"
    problem = lane_problem(principal, task)
    if problem:
        return problem
    if (to.role, to.partnership_id) != (principal.role, principal.partnership_id):
        return f"{to.username} is not a {principal.role} of {principal.username}'s partnership"
    return lane_problem(to, task)


def reassign_candidates(uow: UnitOfWork, principal: Principal, task: HumanTask) -> list[Principal]:
    """The active users `principal` may hand the open `task` to (`reassign_problem`), by name: never the
    principal themselves nor the task's assignee; none when the task is not open."""
    from workflows.db.models import User

    if task.status != "open":
        return []
    query = select(User).where(User.active.is_(True), User.role == task.role)
    if task.role in PARTNERSHIP_ROLES and task.partnership_id is not None:
        query = query.where(User.partnership_id == task.partnership_id)
    if task.role == "applicant":
        query = query.where(User.organisation_id == task.organisation_id)
    users = uow.session.scalars(query.order_by(User.display_name, User.username))
    return [to for to in map(principal_of, users)
            if to.user_id not in (principal.user_id, task.assignee_id) and reassign_problem(principal, task, to) is None]


def refuse_task(app: App, uow: UnitOfWork, principal: Principal, task: HumanTask, reason: str,
                action: str = "task_refused") -> NoReturn:
    """`refuse` for an action on a task: the audit event names its instance, task and subject."""
    refuse(app, uow, principal, reason, action, instance_id=task.instance_id, task=task.task_spec,
           subject=task.subject_ref, after={"human_task": task.id})


# --- acting on exchanges, batches, bank files ----------------------------------------------------

def exchange_action_problem(uow: UnitOfWork, principal: Principal, exchange: Exchange,
                            applicants: bool = True) -> str | None:
    """The two organisations (when `applicants`) and the officers of their partnerships (or an
    administrator) may act on a running exchange; not an officer who declared a conflict of interest
    with either organisation (R-4EYES)."""
    from rules.four_eyes import ActionContext, check_action

    orgs = frozenset(o for o in (exchange.visitor_org_id, exchange.host_org_id) if o is not None)
    if principal.role == "applicant" and applicants and principal.organisation_id in orgs:
        return None
    if principal.role == "administrator" or (principal.role == "officer" and principal.partnership_id in (
            exchange.visitor_partnership_id, exchange.host_partnership_id)):
        decision = check_action(ActionContext(action="cancel_exchange", actor_id=principal.user_id or 0,
                                              file_org_ids=orgs, actor_conflicts=(conflicts := _conflicts(uow, principal)),
                                              org_names=_org_names(uow, orgs, conflicts)))
        return None if decision.ok else " ".join(r.message for r in decision.reasons)
    who = "the exchange's partnership officers" + (" and organisations" if applicants else "")
    return f"{principal.username} may not act on exchange {exchange.ref}: only {who} may"


def release_problem(uow: UnitOfWork, principal: Principal, batch: PaymentBatch) -> str | None:
    """A finance user of the batch's partnership who approved none of its payments and declared no
    conflict with any of its organisations releases it (R-4EYES)."""
    from rules.four_eyes import ActionContext, check_action
    from workflows.db.models import Claim, Exchange
    from workflows.db.process_models import PaymentLine

    if principal.role != "finance" or principal.partnership_id != batch.partnership_id:
        return f"{principal.username} is not a finance officer of the partnership of batch {batch.msg_id}"
    claims = select(Claim).join(PaymentLine, PaymentLine.claim_id == Claim.id).where(
        PaymentLine.batch_id == batch.id).subquery()
    approvers = frozenset(a for a in uow.session.scalars(select(claims.c.approved_by)) if a is not None)
    orgs = frozenset(uow.session.scalars(select(Exchange.visitor_org_id).join(
        claims, claims.c.exchange_id == Exchange.id)))
    decision = check_action(ActionContext(action="release_batch", actor_id=principal.user_id or 0,
                                          file_org_ids=orgs, actor_conflicts=(conflicts := _conflicts(uow, principal)),
                                          payment_approvers=approvers, org_names=_org_names(uow, orgs, conflicts)))
    return None if decision.ok else " ".join(r.message for r in decision.reasons)


BANK_IMPORTERS = frozenset({"finance"})


def imports_bank_files(principal: Principal) -> bool:
    """Whether the principal's role imports bank files (the pages show the upload form only then)."""
    return principal.role in BANK_IMPORTERS


def bank_import_problem(principal: Principal, batch: PaymentBatch | None = None,
                        partnership_code: str = "") -> str | None:
    """Only a finance user of the partnership whose batch the file answers imports a bank file (not an
    administrator: that is finance's lane)."""
    if not imports_bank_files(principal):
        return f"{principal.username} is {principal.role}: only a finance officer imports bank files"
    if batch is not None and batch.partnership_id != principal.partnership_id:
        return (f"{principal.username} is not a finance officer of partnership {partnership_code}, whose batch "
                f"{batch.msg_id} the file answers")
    return None


def may_upload_evidence(principal: Principal, exchange: Exchange) -> str | None:
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


EVIDENCE_READERS = frozenset({"officer", "auditor", "administrator", "applicant", "system"})


def may_open_evidence(principal: Principal, ref: str) -> str | None:
    """Why the principal (who sees the exchange) may not open its evidence files, or None: the
    exchange's officers, auditors, administrators and its organisations' applicants may (finance
    pays on the validated report and does not read the files)."""
    if principal.role in EVIDENCE_READERS:
        return None
    return (f"{principal.username} is {principal.role} and may not open the evidence files of {ref} "
            "(its officers, its organisations, auditors and administrators may)")


# --- process versions (issue 22, part B): deploy a version, move running instances, roll a move back ---

PROCESS_ADMINS = frozenset({"administrator", "system"})  # the system: the operator at the console, `cxp init`
PROCESS_READERS = PROCESS_ADMINS | {"auditor"}


def require_process_admin(app: App, uow: UnitOfWork | None, principal: Principal, what: str,
                          **where: Any) -> None:
    """Only administrators deploy process versions and move running instances between them (or back);
    anyone else is refused, and the refusal audited."""
    if principal.role not in PROCESS_ADMINS:
        refuse(app, uow, principal, f"{principal.username} is {principal.role} and may not {what}: only "
                                    "administrators deploy process versions and migrate running instances", **where)


def require_process_reader(app: App, uow: UnitOfWork | None, principal: Principal, what: str,
                           **where: Any) -> None:
    """The deployed versions, their differences and their history are read by administrators and
    auditors (who read everything and change nothing); anyone else is refused, and the refusal audited."""
    if principal.role not in PROCESS_READERS:
        refuse(app, uow, principal, f"{principal.username} is {principal.role} and may not {what}: only "
                                    "administrators and auditors read the process versions", **where)


# --- programme administration (issue 22, part A): calls, budgets, rule sets, partnerships, organisations ---

PROGRAMME_ADMINS = frozenset({"administrator", "system"})  # the system: the operator at the console (`cxp calls`)
PROGRAMME_READERS = PROGRAMME_ADMINS | {"auditor"}
ADMIN_REFUSED = "admin_change_refused"  # the audit action of a refused change


def manages_programme(principal: Principal) -> bool:
    """Whether the principal changes calls, budgets, rule sets, partnerships and organisations (the
    pages show their forms only then)."""
    return principal.role in PROGRAMME_ADMINS


def require_programme_admin(app: App, uow: UnitOfWork | None, principal: Principal, what: str,
                            **where: Any) -> None:
    """Only administrators change calls, budgets, rule sets, partnerships and organisations; anyone
    else is refused (`what` completes "… may not {what}"), the refusal audited as `admin_change_refused`
    with the subject it was about."""
    if not manages_programme(principal):
        refuse(app, uow, principal, f"{principal.username} is {principal.role} and may not {what}: only "
                                    "administrators manage calls, budgets, rule sets, partnerships and "
                                    "organisations", ADMIN_REFUSED, **where)


def require_programme_reader(app: App, uow: UnitOfWork | None, principal: Principal, what: str,
                             **where: Any) -> None:
    """The administration's own reads (draft calls, a call's history, the organisations and
    partnerships with their accounts) are for administrators and auditors; anyone else is refused and
    the refusal audited (`access_refused`). Published calls are public (`GET /api/calls`) and every
    signed-in person reads the rule sets."""
    if principal.role not in PROGRAMME_READERS:
        refuse(app, uow, principal, f"{principal.username} is {principal.role} and may not {what}: only "
                                    "administrators and auditors read the programme's administration", **where)


# --- applications (SPEC §13) ---------------------------------------------------------------------

def may_apply(app: App, uow: UnitOfWork, principal: Principal, what: str = "apply") -> Organisation:
    """The one check of whether the principal may apply (create, change, submit, withdraw, prefer) for
    an organisation: an applicant user who belongs to an organisation that is active and whose
    registration its partnership approved (imported organisations are). Refuses (audited) otherwise,
    saying why; returns the organisation."""
    from workflows.db.models import Organisation

    organisation = (uow.session.get(Organisation, principal.organisation_id)
                    if principal.role == "applicant" and principal.organisation_id is not None else None)
    if organisation is None:
        refuse(app, uow, principal, f"{principal.username} is {principal.role} and may not {what}: only a user "
                                    "of an organisation applies", after={"request": what})
    if not organisation.active:
        refuse(app, uow, principal, f"{organisation.legal_name} ({organisation.legal_id}) is deactivated and may "
                                    f"not {what}: {organisation.deactivated_reason or 'no reason given'}",
               after={"request": what})
    from workflows.services.registrations import refusal

    waiting = refusal(uow, organisation)
    if waiting is not None:
        refuse(app, uow, principal, f"{organisation.legal_name} ({organisation.legal_id}) may not {what} yet: "
                                    f"{waiting}", after={"request": what, "registration": organisation.registration_status})
    return organisation


def sees_application(principal: Principal, application: Application) -> bool:
    """An applicant their own organisation's; officers and finance their partnership's; readers all."""
    if principal.reads_all:
        return True
    if principal.role in PARTNERSHIP_ROLES:
        return principal.partnership_id == application.partnership_id
    return principal.role == "applicant" and principal.organisation_id == application.organisation_id


def visible_application(uow: UnitOfWork, principal: Principal, application_id: int) -> Application:
    from workflows.db.models import Application

    row = None if not 0 < application_id <= MAX_ID else uow.session.get(Application, application_id)
    if row is None or not sees_application(principal, row):
        raise NotFound(f"application {application_id} does not exist")
    return row


def application_scope(principal: Principal) -> ColumnElement[bool]:
    """`sees_application` as a SQL condition on `applications`, for listings."""
    from workflows.db.models import Application

    if principal.reads_all:
        return true()
    if principal.role in PARTNERSHIP_ROLES and principal.partnership_id is not None:
        return Application.partnership_id == principal.partnership_id
    if principal.role == "applicant" and principal.organisation_id is not None:
        return Application.organisation_id == principal.organisation_id
    return false()
