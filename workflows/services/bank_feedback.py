"""The bank's answers to released payment batches: pain.002 status reports and camt.054 debit
notifications. A claim becomes paid only when the bank confirms the debit (camt.054, booked); a
rejection (pain.002 RJCT with AC01, AC04, AM05..., or a returned transfer) sends the claim back to its
exchange process for a bank-details correction.

A bank file is applied completely, once, or not at all: one transaction; a file that is malformed or
does not match the official XSD of its version (`reports.bankfiles`), answers a payment we did not send
(or did not release), repeats an answer already recorded, reports another amount, or was imported before
(same MsgId or same bytes) is refused with a sentence saying why, and changes nothing.

Only a finance user of the partnership whose batch the file answers, or an administrator, imports a bank
file; anyone else is refused, and the refusal is audited. The import's audit events name that user, and
each exchange the bank answered gets a `bank_status_recorded` event in its process history.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from reports.bankfiles import MAX_BANK_FILE_BYTES, BankFile, BankFileError, PaymentStatus, parse_bank_file
from workflows.app import App
from workflows.audit import Actor
from workflows.db.base import must_get
from workflows.db.models import Claim, ClaimStatus, Exchange, Organisation, Partnership, User
from workflows.db.process_models import BankFileImport, PaymentBatch, PaymentLine
from workflows.services import FieldError, Invalid, NotFound, Refused, ServiceError, access
from workflows.services.access import Principal
from workflows.services.lifecycle import deliver, instance_for
from workflows.services.outputs import BankImportOut
from workflows.services.payment_files import SETTLED
from workflows.uow import UnitOfWork

AWAITING = ("batched", "accepted")  # line statuses the bank may still answer


class _Refused(Exception):
    """The user may not import this file; raised inside the import's transaction, audited after it."""


def import_status(app: App, data: bytes, source: str, principal: Principal,
                  filename: str | None = None) -> BankImportOut:
    """`principal` (finance of the batch's partnership, or an administrator) applies a pain.002 or
    camt.054 once; returns what it said (counts per outcome, exchanges). `source` (how the file came:
    kept with the import and in the audit trail) names the file in the errors, unless `filename` is
    given: a person is told which file and what is wrong with it, not how it travelled."""
    if filename is None or filename == source:
        return _import_status(app, data, source, principal)
    try:
        return _import_status(app, data, source, principal)
    except ServiceError as err:
        raise _renamed(err, source, filename) from err


def _renamed(err: ServiceError, source: str, filename: str) -> ServiceError:
    """The same error, its sentences naming `filename` where they named `source`."""
    def named(text: str) -> str:
        return text.replace(f"bank:{source}"[:60], filename).replace(source, filename)

    if isinstance(err, Invalid):
        fields = [FieldError(f.loc, named(f.msg)) for f in err.fields or []]
        return Invalid(named(str(err)), fields)
    return type(err)(named(str(err)))


def _import_status(app: App, data: bytes, source: str, principal: Principal) -> BankImportOut:
    problem = access.bank_import_problem(principal)
    if problem:
        _refuse(app, principal, source, problem)
    if len(data) > MAX_BANK_FILE_BYTES:
        raise _bad_file(f"{source}: {len(data):,} bytes is more than a bank file may have "
                        f"({MAX_BANK_FILE_BYTES:,}); refused")
    try:
        bank_file = parse_bank_file(data)
    except BankFileError as err:
        raise _bad_file(f"{source}: {err}; nothing was imported") from err
    try:
        return BankImportOut(**_import(app, bank_file, data, source, principal))
    except _Refused as refused:
        _refuse(app, principal, source, str(refused))


def _bad_file(message: str) -> Invalid:
    return Invalid(message, [FieldError(("file",), message)])


def _refuse(app: App, principal: Principal, source: str, reason: str) -> NoReturn:
    try:
        access.refuse(app, None, principal, reason, "bank_import_refused", subject=f"bank:{source}"[:60])
    except Refused:
        raise Refused(f"{reason}; nothing was imported") from None


def _import(app: App, bank_file: BankFile, data: bytes, source: str, principal: Principal) -> dict[str, Any]:
    actor = principal.actor
    with app.uow() as uow:
        _refuse_repeat(uow, bank_file, source)
        batch = _original_batch(uow, bank_file, source)
        if batch is not None:
            _check_partnership(uow, batch.id, principal)
        outcome: dict[str, Any] = {"kind": bank_file.kind, "version": bank_file.version,
                                   "message_id": bank_file.message_id, "sha256": bank_file.sha256,
                                   "answers_batch": batch.msg_id if batch else None, "imported_by": actor.name,
                                   "accepted": 0, "rejected": 0, "executed": 0, "pending": 0, "paid": [],
                                   "returned": [], "warnings": []}
        touched: set[int] = set()
        for status in _statuses(uow, bank_file, batch, source):
            outcome[status.status] += 1
            if status.status == "pending":
                continue
            line = _line_for(uow, status, batch, source)
            touched.add(line.batch_id)
            _check_partnership(uow, line.batch_id, principal)
            _apply(app, uow, line, status, outcome, actor, bank_file)
        _settle(uow, touched, actor)
        uow.session.add(BankFileImport(kind=bank_file.kind, message_id=bank_file.message_id[:60],
                                       sha256=bank_file.sha256, imported_at=uow.now(), content=data,
                                       source=source[:200], original_msg_id=(batch.msg_id if batch else None)))
        uow.audit(actor, "bank_file_imported", subject=f"bank:{bank_file.message_id}"[:60], after={
            k: outcome[k] for k in ("kind", "version", "sha256", "answers_batch", "accepted", "rejected",
                                    "executed", "pending")})
        try:
            uow.commit()
        except IntegrityError:  # the same file imported at the same moment by someone else
            raise ServiceError(f"{source}: already imported (message {bank_file.message_id}); nothing changed") from None
        return outcome


def _check_partnership(uow: UnitOfWork, batch_id: int, principal: Principal) -> None:
    """A finance user imports answers to their own partnership's batches only."""
    batch = must_get(uow.session, PaymentBatch, batch_id)
    code = must_get(uow.session, Partnership, batch.partnership_id).code
    problem = access.bank_import_problem(principal, batch, code)
    if problem:
        raise _Refused(problem)


def finance_user_for(app: App, data: bytes) -> str:
    """The first active finance user of the partnership whose batch the bank file answers (the demo's
    finance office imports the simulated bank's files as that user)."""
    try:
        original = parse_bank_file(data).original_msg_id
    except BankFileError as err:
        raise ServiceError(f"bank file: {err}") from err
    with app.uow() as uow:
        username = uow.session.scalars(
            select(User.username).join(PaymentBatch, PaymentBatch.partnership_id == User.partnership_id)
            .where(PaymentBatch.msg_id == original, User.role == "finance", User.active.is_(True))
            .order_by(User.id)).first()
    if username is None:
        raise NotFound(f"bank file: no active finance user of the partnership of batch {original}")
    return username


def _refuse_repeat(uow: UnitOfWork, bank_file: BankFile, source: str) -> None:
    seen = uow.session.scalars(select(BankFileImport).where(
        (BankFileImport.message_id == bank_file.message_id) | (BankFileImport.sha256 == bank_file.sha256))).first()
    if seen is not None:
        same = "the same file" if seen.sha256 == bank_file.sha256 else f"a file with the same message id {seen.message_id}"
        raise ServiceError(f"{source}: already imported: {same} was imported on {seen.imported_at:%Y-%m-%d %H:%M} UTC"
                           f"{f' from {seen.source}' if seen.source else ''}; nothing changed")


def _original_batch(uow: UnitOfWork, bank_file: BankFile, source: str) -> PaymentBatch | None:
    """The batch a file says it answers (pain.002 always names it; camt.054 may)."""
    original = bank_file.original_msg_id
    if not original:
        return None
    batch = uow.session.scalars(select(PaymentBatch).where(PaymentBatch.msg_id == original)).first()
    if batch is None:
        raise ServiceError(f"{source}: it answers payment message {original}, which is none of our payment "
                           "batches; nothing was imported")
    if batch.status == "created":
        raise ServiceError(f"{source}: it answers batch {original}, which has not been released to the bank; "
                           "nothing was imported")
    return batch


def _statuses(uow: UnitOfWork, bank_file: BankFile, batch: PaymentBatch | None, source: str) -> list[PaymentStatus]:
    """The per-payment answers; a pain.002 that only answers for the whole group applies to every line."""
    if bank_file.statuses:
        return list(bank_file.statuses)
    group = bank_file.group_status
    if batch is None or group not in ("accepted", "rejected"):
        raise ServiceError(f"{source}: the file answers no payment of ours; nothing was imported")
    lines = uow.session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id,
                                                          PaymentLine.status.in_(AWAITING)))
    template = PaymentStatus("", group, bank_file.group_reason_code, bank_file.group_reason_text, None)
    return [replace(template, end_to_end_id=line.end_to_end_id) for line in lines]


def _line_for(uow: UnitOfWork, status: PaymentStatus, batch: PaymentBatch | None, source: str) -> PaymentLine:
    ref = status.end_to_end_id
    query = select(PaymentLine).join(PaymentBatch).where(PaymentLine.end_to_end_id == ref,
                                                         PaymentBatch.status != "created")
    if batch is not None:
        query = query.where(PaymentLine.batch_id == batch.id)
    lines = list(uow.session.scalars(query.order_by(PaymentLine.id.desc())))
    line = next((l for l in lines if l.status in AWAITING), lines[0] if lines else None)
    where = f"batch {batch.msg_id}" if batch else "any released payment batch"
    if line is None:
        raise ServiceError(f"{source}: {ref} is not in {where}; nothing was imported")
    if line.status not in AWAITING:
        raise ServiceError(f"{source}: the bank says {ref} was {status.status}, but it is already recorded as "
                           f"{line.status}; nothing was imported")
    if status.amount is not None and status.amount != line.amount:
        raise ServiceError(f"{source}: the bank reports EUR {status.amount} for {ref}, but the batch line is "
                           f"EUR {line.amount:.2f}; nothing was imported")
    return line


def _record(uow: UnitOfWork, exchange: Exchange, status: PaymentStatus, actor: Actor, bank_file: BankFile) -> None:
    """The bank's answer in the exchange's own process history (`cxp instance show`)."""
    try:
        instance_id: int | None = instance_for(uow, "exchange", exchange.id).id
    except NotFound:  # an exchange imported without a process: the event is still in the trail
        instance_id = None
    uow.audit(actor, "bank_status_recorded", subject=exchange.ref, instance_id=instance_id, after={
        "status": status.status, "reason_code": status.reason_code, "reason": status.reason_text,
        "amount": status.amount, "file": bank_file.version, "message_id": bank_file.message_id,
        "sha256": bank_file.sha256})


def _apply(app: App, uow: UnitOfWork, line: PaymentLine, status: PaymentStatus, outcome: dict[str, Any],
           actor: Actor, bank_file: BankFile) -> None:
    claim = must_get(uow.session, Claim, line.claim_id)
    exchange = must_get(uow.session, Exchange, claim.exchange_id)
    _record(uow, exchange, status, actor, bank_file)
    if status.status == "accepted":
        line.status = "accepted"
        return
    if status.status == "rejected":
        line.status, line.reason_code = "rejected", status.reason_code
        line.reason_text = (status.reason_text or status.reason_code or "rejected by the bank")[:300]
        claim.status, claim.status_reason, claim.batch_id = ClaimStatus.REJECTED, line.reason_text, None
        uow.audit(actor, "payment_rejected", subject=exchange.ref,
                  after={"code": status.reason_code, "reason": line.reason_text, "amount": line.amount})
        outcome["returned"].append({"exchange": exchange.ref, "code": status.reason_code, "reason": line.reason_text})
        _tell_process(app, uow, exchange, "payment_rejected", {
            "rejection_code": status.reason_code or "RJCT", "rejection_reason": line.reason_text}, outcome, actor)
        payment_returned_mail(app, uow, exchange, line.amount, line.reason_text, line.reason_code,
                              key=f"payment_rejected:{line.id}")
        return
    line.status = "executed"
    claim.status, claim.paid_at = ClaimStatus.PAID, uow.now()
    uow.audit(actor, "payment_executed", subject=exchange.ref, after={"amount": line.amount})
    outcome["paid"].append(exchange.ref)
    _tell_process(app, uow, exchange, "payment_confirmed", {
        "paid_amount": str(line.amount), "paid_on": uow.now().date().isoformat()}, outcome, actor)


def payment_returned_mail(app: App, uow: UnitOfWork, exchange: Exchange, amount: Any, reason_text: str,
                          reason_code: str | None, key: str) -> None:
    """Tell the visiting organisation at once that its grant was not paid — the bank returned it, or its
    bank details failed the check when the batch was made: the reason, the last characters of the IBAN
    used, and a link to the task where it corrects its bank details (its page when there is none).
    Queued once per `key`, in the transaction that records the return."""
    from workflows.db.process_models import HumanTask
    from workflows.outbox import enqueue

    organisation = must_get(uow.session, Organisation, exchange.visitor_org_id)
    if not organisation.contact_email:
        return
    task = uow.session.scalars(select(HumanTask).where(
        HumanTask.subject_ref == exchange.ref, HumanTask.task_spec == "correct_bank_details",
        HumanTask.status == "open").order_by(HumanTask.id.desc())).first()
    context: dict[str, Any] = {
        "recipient_name": organisation.legal_name, "organisation": organisation.legal_name,
        "exchange_id": exchange.ref, "amount": amount, "reason_text": reason_text, "reason_code": reason_code or "",
        "portal_url": app.settings.link(f"/tasks/{task.id}" if task is not None else "/my")}
    iban = (organisation.iban or "").replace(" ", "")
    if iban:
        context["iban_hint"] = iban[-4:]
    if task is not None and task.due_at is not None:
        context["due_date"] = task.due_at.astimezone(ZoneInfo(app.settings.timezone)).date()
    enqueue(uow.session, template="payment_rejected", to=[organisation.contact_email], key=key, now=uow.now(),
            context=context)


def _tell_process(app: App, uow: UnitOfWork, exchange: Exchange, message: str, payload: dict[str, Any],
                  outcome: dict[str, Any], actor: Actor) -> None:
    """Move the exchange process on; the bank's answer is recorded even if the process cannot take it."""
    try:
        with uow.session.begin_nested():
            deliver(app, uow, instance_for(uow, "exchange", exchange.id), message, payload)
    except ServiceError as err:
        uow.audit(actor, "process_not_notified", subject=exchange.ref, after={"message": message, "problem": str(err)})
        outcome["warnings"].append(f"{exchange.ref}: {err}")


def _settle(uow: UnitOfWork, batch_ids: set[int], actor: Actor) -> None:
    """A batch whose every line the bank executed or rejected is settled."""
    for batch_id in sorted(batch_ids):
        uow.session.flush()
        open_lines = uow.session.scalars(select(PaymentLine.id).where(
            PaymentLine.batch_id == batch_id, PaymentLine.status.in_(AWAITING)).limit(1)).first()
        if open_lines is None:
            batch = must_get(uow.session, PaymentBatch, batch_id)
            batch.status, batch.settled_at = SETTLED, uow.now()
            uow.audit(actor, "batch_settled", subject=f"batch:{batch.msg_id}")
