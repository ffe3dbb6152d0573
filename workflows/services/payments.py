"""Payment batches (SEPA pain.001.001.03) and their release by finance (R-4EYES).

Exactly once. A claim gets into a batch only from the status `approved` with no batch, in the same
transaction that creates the batch, its lines, its outbox email and its audit event; the claims are
switched with a compare-and-set UPDATE, and a partial unique index on `payment_lines(claim_id)` lets
the database itself refuse a second line for a claim unless the bank rejected the first. The files
are written after the commit and can be rebuilt byte for byte (`workflows.services.payment_files`),
so a crash at any point — before, during or after the commit, between the two files — leaves either
no batch or a batch whose files the next run restores. The crash points are named for the tests
(`workflows.services.faults`).

The bank's answers are applied by `workflows.services.bank_feedback.import_status` (re-exported here).
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update

from reports.sepa import (
    REMITTANCE_MAX,
    CreditTransfer,
    Debtor,
    InvalidTransfersError,
    next_business_day,
    to_sepa_charset,
    validate_creditor,
)
from workflows import outbox
from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.base import must_get, rows_matched
from workflows.db.models import Call, Claim, ClaimStatus, Exchange, Partnership, User
from workflows.db.process_models import PaymentBatch, PaymentLine
from workflows.services import Conflict, Invalid, NotFound, ServiceError, access
from workflows.services.access import Principal
from workflows.services.bank_feedback import import_status, payment_returned_mail
from workflows.services.faults import crash_point
from workflows.services.lifecycle import deliver, instance_for
from workflows.services.outputs import BatchDetailOut, BatchOut, PaymentLineOut, ReleaseOut
from workflows.services.payment_files import (
    SETTLED,
    build_files,
    export_batch,
    recover_files,
    sha256,
    write_files,
)
from workflows.uow import UnitOfWork

CREATED, RELEASED = "created", "released"
BATCH_STATUSES = (CREATED, RELEASED, SETTLED)
_CHUNK = 5_000  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class _Candidate:
    """An approved claim not yet in a batch, with what its transfer needs."""

    claim_id: int
    exchange_id: int
    transfer: CreditTransfer


# --------------------------------------------------------------------------- ids and texts


def batch_ids(partnership_code: str, business_date: date, batch_id: int) -> tuple[str, str]:
    """(MsgId, PmtInfId): unique through the batch id, at most 35 SEPA identifier characters.

    The business date keeps them unique against a bank even when a database is started afresh.
    """
    code = "".join(c if c.isalnum() else "-" for c in to_sepa_charset(partnership_code, 35).upper()).strip("-")
    tail = f"{business_date:%Y%m%d}-{batch_id:06d}"
    room = 35 - len(tail) - 3
    code = (code[:room].rstrip("-") or "CXP") if room > 0 else "CXP"
    return f"{code}-B{tail}"[:35], f"{code}-P{tail}"[:35]


def remittance_text(exchange_ref: str, call_code: str | None, arrival: date | None, departure: date | None) -> str:
    """The ≤140-character remittance information naming the exchange, in SEPA characters."""
    text = f"ClusterXchange grant {exchange_ref}"
    if call_code:
        text += f" call {call_code}"
    if arrival and departure:
        text += f" exchange visit {arrival.isoformat()} to {departure.isoformat()}"
    return to_sepa_charset(text, REMITTANCE_MAX)


# --------------------------------------------------------------------------- creating a batch


def _partnership(uow: UnitOfWork, code: str) -> Partnership:
    partnership = uow.session.scalars(select(Partnership).where(Partnership.code == code)).first()
    if partnership is None:
        raise NotFound(f"partnership: no partnership '{code}'")
    return partnership


def _candidates(uow: UnitOfWork, partnership_id: int) -> list[_Candidate]:
    """Approved claims without a batch, locked on PostgreSQL until the batch is committed."""
    query = (select(Claim.id, Claim.exchange_id, Claim.amount, Claim.creditor_name, Claim.iban, Claim.bic,
                    Exchange.ref, Exchange.arrival, Exchange.departure, Call.code)
             .join(Exchange, Exchange.id == Claim.exchange_id).join(Call, Call.id == Claim.call_id)
             .where(Claim.partnership_id == partnership_id, Claim.status == ClaimStatus.APPROVED,
                    Claim.batch_id.is_(None))
             .order_by(Exchange.ref).with_for_update(of=Claim))
    return [_Candidate(row[0], row[1], CreditTransfer(
        end_to_end_id=row.ref, creditor_name=row.creditor_name or "", iban=row.iban or "", bic=row.bic,
        amount=row.amount, remittance=remittance_text(row.ref, row.code, row.arrival, row.departure)))
        for row in uow.session.execute(query)]


def _hold(app: App, uow: UnitOfWork, candidate: _Candidate, problems: Sequence[Any]) -> dict[str, Any]:
    """Keep a claim with bad bank details out of the batch and open its correction task."""
    ref = candidate.transfer.end_to_end_id
    reason = "; ".join(f"{p.field}: {p.message}" for p in problems)
    uow.session.execute(update(Claim).where(Claim.id == candidate.claim_id)
                        .values(status=ClaimStatus.HELD, status_reason=reason[:300]))
    uow.audit(SYSTEM, "claim_held", subject=ref, after={"reason": reason})
    held = {"exchange": ref, "reason": reason, "correction_task": True}
    try:
        with uow.session.begin_nested():
            deliver(app, uow, instance_for(uow, "exchange", candidate.exchange_id), "payment_rejected",
                    {"rejection_code": "INVALID_BANK_DETAILS", "rejection_reason": reason})
    except ServiceError as err:  # no process waiting for the bank: the claim stays held, visibly
        held["correction_task"] = False
        uow.audit(SYSTEM, "claim_held_without_task", subject=ref, after={"problem": str(err)})
    payment_returned_mail(app, uow, must_get(uow.session, Exchange, candidate.exchange_id), candidate.transfer.amount,
                          reason, "INVALID_BANK_DETAILS",  # once per claim and reason
                          key=f"claim_held:{candidate.claim_id}:{hashlib.sha256(reason.encode()).hexdigest()[:16]}")
    return held


def _debtor(partnership: Partnership) -> Debtor:
    """The partnership's account, checked like a creditor's (IBAN, BIC, name in SEPA characters)."""
    debtor = Debtor(partnership.debtor_name, partnership.debtor_iban, partnership.debtor_bic)
    problems = validate_creditor(CreditTransfer("DEBTOR", debtor.name or "", debtor.iban or "", debtor.bic,
                                                Decimal("0.01"), ""))
    if problems:
        raise ServiceError(f"partnership {partnership.code}: its debtor account cannot pay: "
                           + "; ".join(f"debtor {p.field}: {p.message}" for p in problems))
    return debtor


def _switch_claims(uow: UnitOfWork, claim_ids: list[int], batch_id: int) -> None:
    """approved → batched, only for claims still approved and unbatched (compare-and-set)."""
    switched = 0
    for start in range(0, len(claim_ids), _CHUNK):
        chunk = claim_ids[start:start + _CHUNK]
        switched += rows_matched(uow.session.execute(
            update(Claim).where(Claim.id.in_(chunk), Claim.status == ClaimStatus.APPROVED,
                                Claim.batch_id.is_(None))
            .values(status=ClaimStatus.BATCHED, batch_id=batch_id)
            .execution_options(synchronize_session=False)))
    if switched != len(claim_ids):
        raise ServiceError(f"{len(claim_ids) - switched} claim(s) changed while the batch was being built; "
                           "nothing was written: run the batch again")


def _notify_finance(app: App, uow: UnitOfWork, partnership: Partnership, batch: PaymentBatch,
                    files: Any, held: list[dict[str, Any]]) -> None:
    """The batch email with both files attached, queued in the batch's own transaction (R-MAIL)."""
    finance = list(uow.session.scalars(select(User.email).where(
        User.role == "finance", User.partnership_id == partnership.id, User.active.is_(True))
        .order_by(User.id))) or [app.settings.finance_email]
    outbox.enqueue(
        uow.session, template="payment_batch_ready", to=finance, key=f"payment_batch_ready:{batch.msg_id}",
        now=uow.now(),
        context={"recipient_name": f"{partnership.name} finance team", "batch_ref": batch.msg_id,
                 "msg_id": batch.msg_id, "partnership": partnership.name, "transfer_count": batch.n_tx,
                 "total_amount": str(batch.control_sum), "execution_date": batch.execution_date.isoformat(),
                 "held_out": [{"exchange_id": h["exchange"], "reason": h["reason"]} for h in held],
                 "portal_path": f"/payments/{batch.msg_id}"},
        attachments=[
            {"path": str(files.xml_path), "filename": files.xml_path.name, "mime_type": "application/xml",
             "sha256": files.xml_sha256},
            {"path": str(files.csv_path), "filename": files.csv_path.name, "mime_type": "text/csv",
             "sha256": files.csv_sha256}])


def create_batch(app: App, partnership_code: str) -> dict[str, Any]:
    """Put every approved claim of the partnership that is in no batch into one new batch.

    Claims with bad bank details (the file builder checks every IBAN and BIC with schwifty) are held
    out, with the reason and a correction task in their exchange process. Returns the batch's MsgId
    (None when nothing was due), the files, the lines' count and sum, and the claims held out.
    """
    with app.uow() as uow:
        partnership_id = _partnership(uow, partnership_code).id
    recover_files(app, partnership_id=partnership_id)  # make earlier batches whole before adding one
    with app.uow() as uow:
        partnership = _partnership(uow, partnership_code)
        good = _candidates(uow, partnership.id)
        if not good:
            return _no_batch(partnership_code, [])
        debtor = _debtor(partnership)
        batch = _new_batch(app, uow, partnership, debtor, good)
        held: list[dict[str, Any]] = []
        while True:  # one validating build in the usual case; again without the lines it refused
            try:
                files = build_files(app, batch, debtor, [c.transfer for c in good])
                break
            except InvalidTransfersError as err:
                refused = _problems_by_ref(err)
                held += [_hold(app, uow, c, refused[c.transfer.end_to_end_id])
                         for c in good if c.transfer.end_to_end_id in refused]
                good = [c for c in good if c.transfer.end_to_end_id not in refused]
                if not good:
                    uow.session.delete(batch)
                    crash_point("batch_after_hold")
                    uow.commit()
                    return _no_batch(partnership_code, held)
                batch.n_tx, batch.control_sum = len(good), sum((c.transfer.amount for c in good), Decimal("0"))
        crash_point("batch_after_hold")
        _store_lines(uow, batch, good)
        batch.file_path, batch.summary_path = str(files.xml_path), str(files.csv_path)
        batch.file_sha256, batch.summary_sha256 = files.xml_sha256, files.csv_sha256
        _notify_finance(app, uow, partnership, batch, files, held)
        uow.audit(SYSTEM, "batch_created", subject=f"batch:{batch.msg_id}", after={
            "partnership": partnership.code, "n_tx": batch.n_tx, "control_sum": batch.control_sum,
            "execution_date": batch.execution_date, "sha256": batch.file_sha256,
            "claims": [c.transfer.end_to_end_id for c in good]})
        crash_point("batch_before_commit")
        uow.commit()
    crash_point("batch_after_commit")
    written = write_files(files)
    crash_point("batch_after_files")
    from workflows.services.audit_trail import anchor

    anchor(app, f"batch:{batch.msg_id}")  # the chains' heads, batch included, outside the database
    return {"partnership": partnership_code, "batch": batch.msg_id, "n_tx": batch.n_tx,
            "control_sum": str(batch.control_sum), "execution_date": batch.execution_date.isoformat(),
            "sha256": batch.file_sha256, "files": written, "held": held}


def _no_batch(partnership_code: str, held: list[dict[str, Any]]) -> dict[str, Any]:
    return {"partnership": partnership_code, "batch": None, "n_tx": 0, "control_sum": "0.00", "files": [],
            "held": held}


def _problems_by_ref(err: InvalidTransfersError) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for problem in err.problems:
        found.setdefault(problem.end_to_end_id, []).append(problem)
    return found


def _new_batch(app: App, uow: UnitOfWork, partnership: Partnership, debtor: Debtor,
               good: list[_Candidate]) -> PaymentBatch:
    now = uow.now().astimezone(UTC).replace(microsecond=0)  # CreDtTm, stored as written
    today = now.astimezone(ZoneInfo(app.settings.timezone)).date()
    batch = PaymentBatch(
        partnership_id=partnership.id, business_date=today,
        execution_date=next_business_day(today + timedelta(days=1)),
        msg_id=f"~{uuid.uuid4().hex[:30]}", pmt_inf_id=f"~{uuid.uuid4().hex[:30]}",
        n_tx=len(good), control_sum=sum((c.transfer.amount for c in good), Decimal("0")),
        status=CREATED, created_at=now,
        debtor_name=debtor.name, debtor_iban=debtor.iban, debtor_bic=debtor.bic)
    uow.session.add(batch)
    uow.session.flush()
    batch.msg_id, batch.pmt_inf_id = batch_ids(partnership.code, today, batch.id)
    uow.session.flush()
    return batch


def _store_lines(uow: UnitOfWork, batch: PaymentBatch, good: list[_Candidate]) -> None:
    uow.session.execute(insert(PaymentLine), [
        {"batch_id": batch.id, "claim_id": c.claim_id, "end_to_end_id": c.transfer.end_to_end_id,
         "amount": c.transfer.amount, "creditor_name": c.transfer.creditor_name, "iban": c.transfer.iban,
         "bic": c.transfer.bic, "remittance": c.transfer.remittance, "status": "batched"} for c in good])
    _switch_claims(uow, [c.claim_id for c in good], batch.id)


def partnership_codes(app: App) -> list[str]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(Partnership.code).order_by(Partnership.id)))


def run_payment_batches(app: App, partnership: str | None = None) -> dict[str, Any]:
    """The payment-batch job: restore missing files, then one batch per partnership (or for one).

    A partnership whose batch cannot be made (for example a bad debtor account) is reported in
    `errors` and does not stop the others.
    """
    recovered = recover_files(app)
    results, errors = [], []
    for code in [partnership] if partnership else partnership_codes(app):
        try:
            results.append(create_batch(app, code))
        except NotFound:
            raise
        except ServiceError as err:
            errors.append({"partnership": code, "error": str(err)})
    return summarise(results, recovered, errors)


def summarise(results: list[dict[str, Any]], recovered: list[str], errors: list[dict[str, Any]]) -> dict[str, Any]:
    """One JSON-able document for a run of the job: batches made, files written, claims held."""
    made = [r for r in results if r["batch"]]
    return {"batches": [{k: r[k] for k in ("partnership", "batch", "n_tx", "control_sum", "execution_date",
                                           "sha256", "files")} for r in made],
            "files": [f for r in made for f in r["files"]],
            "held": [h for r in results for h in r["held"]],
            "recovered_files": recovered, "errors": errors}


# --------------------------------------------------------------------------- release


def release_batch(app: App, batch_ref: str, principal: Principal) -> ReleaseOut:
    """A finance user of the batch's partnership who approved none of its payments, and declared no
    conflict with any of its organisations, releases the batch to the bank (R-4EYES). A batch the
    principal may not see is `NotFound`; one they see but may not release is refused (audited)."""
    with app.uow() as uow:
        batch = access.visible_batch(uow, principal, batch_ref)
        msg_id = batch.msg_id
        problem = access.release_problem(uow, principal, batch)
        if problem:
            access.refuse(app, uow, principal, problem, "batch_release_refused", subject=f"batch:{msg_id}")
        if batch.status != CREATED:
            raise Conflict(f"batch {msg_id} is {batch.status}, not awaiting release")
        partnership_id = batch.partnership_id
    recover_files(app, partnership_id=partnership_id, msg_id=msg_id)  # release only an intact file
    with app.uow() as uow:
        batch = access.visible_batch(uow, principal, msg_id)
        changed = rows_matched(uow.session.execute(update(PaymentBatch).where(
            PaymentBatch.id == batch.id, PaymentBatch.status == CREATED).values(
            status=RELEASED, released_by=principal.user_id, released_at=uow.now())))
        if changed != 1:
            raise Conflict(f"batch {msg_id} was released by someone else meanwhile")
        uow.audit(principal.actor, "batch_released", subject=f"batch:{msg_id}",
                  after={"sha256": batch.file_sha256, "n_tx": batch.n_tx, "control_sum": batch.control_sum})
        uow.commit()
    return ReleaseOut(batch=msg_id, status=RELEASED, released_by=principal.username,
                      file=Path(batch.file_path).name if batch.file_path else None)


# --------------------------------------------------------------------------- reading


def lines_of(uow: UnitOfWork, batch: PaymentBatch) -> list[PaymentLine]:
    return list(uow.session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id)
                                    .order_by(PaymentLine.id)))


def _view(batch: PaymentBatch, code: str, releaser: str | None, counts: dict[str, int]) -> dict[str, Any]:
    return {"id": batch.id, "batch": batch.msg_id, "pmt_inf_id": batch.pmt_inf_id, "partnership": code,
            "status": batch.status, "business_date": batch.business_date,
            "execution_date": batch.execution_date, "n_tx": batch.n_tx,
            "control_sum": batch.control_sum.quantize(Decimal("0.01")), "lines": counts, "sha256": batch.file_sha256,
            "files": [Path(p).name for p in (batch.file_path, batch.summary_path) if p],  # names, not server paths
            "created_at": batch.created_at, "released_by": releaser, "released_at": batch.released_at}


def list_batches(app: App, principal: Principal, status: str | None = None,
                 partnership: str | None = None) -> list[BatchOut]:
    """The batches the principal may see (newest first) with their status and how many of their lines
    the bank answered how: finance and officers their partnership's, auditors and administrators all."""
    if status is not None and status not in BATCH_STATUSES:
        raise Invalid.field("status", f"{status!r} is not a batch status ({', '.join(BATCH_STATUSES)})")
    with app.uow() as uow:
        query = (select(PaymentBatch, Partnership.code, User.username)
                 .join(Partnership, Partnership.id == PaymentBatch.partnership_id)
                 .outerjoin(User, User.id == PaymentBatch.released_by)
                 .where(access.batch_scope(principal)).order_by(PaymentBatch.id.desc()))
        if status:
            query = query.where(PaymentBatch.status == status)
        if partnership:
            query = query.where(Partnership.code == partnership)
        rows = uow.session.execute(query).all()
        counts: dict[int, dict[str, int]] = {}
        ids = [b.id for b, _, _ in rows]
        for start in range(0, len(ids), _CHUNK):
            for batch_id, line_status, n in uow.session.execute(
                    select(PaymentLine.batch_id, PaymentLine.status, func.count())
                    .where(PaymentLine.batch_id.in_(ids[start:start + _CHUNK]))
                    .group_by(PaymentLine.batch_id, PaymentLine.status)):
                counts.setdefault(batch_id, {})[line_status] = n
        return [BatchOut(**_view(b, code, who, counts.get(b.id, {}))) for b, code, who in rows]


def batch_detail(app: App, principal: Principal, batch_ref: str) -> BatchDetailOut:
    """One batch the principal may see, with its lines (exchange, creditor, amount, the bank's status
    and reason)."""
    with app.uow() as uow:
        batch = access.visible_batch(uow, principal, batch_ref)
        code = must_get(uow.session, Partnership, batch.partnership_id).code
        releaser = must_get(uow.session, User, batch.released_by).username if batch.released_by else None
        lines = lines_of(uow, batch)
        counts: dict[str, int] = {}
        for line in lines:
            counts[line.status] = counts.get(line.status, 0) + 1
        transfers = [PaymentLineOut(exchange=l.end_to_end_id, creditor_name=l.creditor_name, iban=l.iban, bic=l.bic,
                                    amount=l.amount.quantize(Decimal("0.01")), status=l.status,
                                    reason_code=l.reason_code, reason=l.reason_text)
                     for l in sorted(lines, key=lambda l: l.end_to_end_id)]
        return BatchDetailOut(**_view(batch, code, releaser, counts), transfers=transfers)


__all__ = [
    "batch_detail", "batch_ids", "create_batch", "export_batch", "import_status", "lines_of", "list_batches",
    "partnership_codes", "recover_files", "release_batch", "remittance_text",
    "run_payment_batches", "sha256", "SETTLED", "CREATED", "RELEASED",
]
