"""Payment batches (SEPA pain.001.001.03), their release by finance (R-4EYES) and the bank's answers
(pain.002 / camt.054). A claim is paid only on the bank's confirmation."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reports.bankfiles import BankFileError, parse_bank_file
from reports.payment_summary import summary_csv
from reports.sepa import CreditTransfer, Debtor, build_pain001, next_business_day, validate_creditor
from rules.four_eyes import ActionContext, check_action
from workflows import outbox
from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.models import Claim, ClaimStatus, Exchange, Partnership, User
from workflows.db.process_models import BankFileImport, PaymentBatch, PaymentLine
from workflows.services import NotFound, PermissionDenied, ServiceError
from workflows.services.inbox import actor_of, get_user
from workflows.services.lifecycle import deliver, instance_for
from workflows.uow import UnitOfWork


def _transfer(claim: Claim, exchange: Exchange) -> CreditTransfer:
    return CreditTransfer(
        end_to_end_id=exchange.ref, creditor_name=claim.creditor_name or "", iban=claim.iban or "",
        bic=claim.bic, amount=claim.amount,
        remittance=f"ClusterXchange grant {exchange.ref} exchange visit {exchange.arrival}-{exchange.departure}",
    )


def _hold(app: App, uow: UnitOfWork, claim: Claim, exchange: Exchange, problems: list[Any]) -> None:
    reason = "; ".join(f"{p.field}: {p.message}" for p in problems)
    claim.status, claim.status_reason = ClaimStatus.HELD, reason[:300]
    uow.audit(SYSTEM, "claim_held", subject=exchange.ref, after={"reason": reason})
    deliver(app, uow, instance_for(uow, "exchange", exchange.id), "payment_rejected",
            {"rejection_code": "INVALID_BANK_DETAILS", "rejection_reason": reason})


def create_batch(app: App, partnership_code: str) -> dict[str, Any]:
    """Put every approved claim of the partnership not yet in a batch into one new batch."""
    with app.uow() as uow:
        partnership = uow.session.scalars(select(Partnership).where(Partnership.code == partnership_code)).first()
        if partnership is None:
            raise NotFound(f"partnership: no partnership '{partnership_code}'")
        claims = list(uow.session.scalars(select(Claim).where(
            Claim.partnership_id == partnership.id, Claim.status == ClaimStatus.APPROVED,
            Claim.batch_id.is_(None)).order_by(Claim.id).with_for_update()))
        good: list[tuple[Claim, CreditTransfer]] = []
        held = []
        for claim in claims:
            exchange = uow.session.get(Exchange, claim.exchange_id)
            transfer = _transfer(claim, exchange)
            problems = validate_creditor(transfer)
            if problems:
                _hold(app, uow, claim, exchange, problems)
                held.append(exchange.ref)
            else:
                good.append((claim, transfer))
        if not good:
            uow.commit()
            return {"partnership": partnership_code, "batch": None, "held": held, "files": []}
        now = uow.now()
        batch = PaymentBatch(partnership_id=partnership.id, business_date=now.date(),
                             execution_date=next_business_day(now.date() + timedelta(days=1)),
                             msg_id="pending", pmt_inf_id="pending", n_tx=len(good),
                             control_sum=sum((t.amount for _, t in good), Decimal("0")), created_at=now)
        uow.session.add(batch)
        uow.session.flush()
        batch.msg_id = f"CXP-{partnership.code}-{batch.id:06d}"[:35]
        batch.pmt_inf_id = f"PMT-{partnership.code}-{batch.id:06d}"[:35]
        xml = build_pain001(Debtor(partnership.debtor_name, partnership.debtor_iban, partnership.debtor_bic),
                            [t for _, t in good], batch.msg_id, batch.pmt_inf_id, batch.execution_date, now)
        folder = Path(app.settings.files_dir) / "payments"
        folder.mkdir(parents=True, exist_ok=True)
        xml_path, csv_path = folder / f"{batch.msg_id}.xml", folder / f"{batch.msg_id}.csv"
        xml_path.write_bytes(xml)
        csv_path.write_bytes(summary_csv([t for _, t in good], batch.msg_id))
        batch.file_path, batch.summary_path = str(xml_path), str(csv_path)
        batch.file_sha256 = hashlib.sha256(xml).hexdigest()
        for claim, t in good:
            claim.status, claim.batch_id = ClaimStatus.BATCHED, batch.id
            uow.session.add(PaymentLine(batch_id=batch.id, claim_id=claim.id, end_to_end_id=t.end_to_end_id,
                                        amount=t.amount, creditor_name=t.creditor_name, iban=t.iban, bic=t.bic))
        finance = list(uow.session.scalars(select(User.email).where(
            User.role == "finance", User.partnership_id == partnership.id))) or [app.settings.finance_email]
        outbox.enqueue(uow.session, template="payment_batch_ready", to=finance, key=f"batch:{batch.msg_id}",
                       now=now, context={"batch_ref": batch.msg_id, "partnership": partnership.name,
                                         "count": batch.n_tx, "total": str(batch.control_sum),
                                         "execution_date": batch.execution_date.isoformat()},
                       attachments=[{"path": str(xml_path), "mime_type": "application/xml"},
                                    {"path": str(csv_path), "mime_type": "text/csv"}])
        uow.audit(SYSTEM, "batch_created", subject=f"batch:{batch.msg_id}",
                  after={"claims": [t.end_to_end_id for _, t in good], "control_sum": batch.control_sum,
                         "sha256": batch.file_sha256})
        uow.commit()
        return {"partnership": partnership_code, "batch": batch.msg_id, "held": held,
                "files": [str(xml_path), str(csv_path)], "n_tx": batch.n_tx, "control_sum": str(batch.control_sum)}


def release_batch(app: App, msg_id: str, username: str) -> dict[str, Any]:
    """A finance user of the partnership who approved none of its payments releases the batch."""
    with app.uow() as uow:
        batch = uow.session.scalars(select(PaymentBatch).where(PaymentBatch.msg_id == msg_id)).first()
        if batch is None:
            raise NotFound(f"batch: no batch '{msg_id}'")
        user = get_user(uow, username)
        if user.role != "finance" or user.partnership_id != batch.partnership_id:
            raise PermissionDenied(f"{username} is not a finance officer of this batch's partnership")
        if batch.status != "created":
            raise ServiceError(f"batch {msg_id} is {batch.status}, not awaiting release")
        approvers = frozenset(uow.session.scalars(select(Claim.approved_by).join(
            PaymentLine, PaymentLine.claim_id == Claim.id).where(PaymentLine.batch_id == batch.id)))
        decision = check_action(ActionContext(action="release_batch", actor_id=user.id,
                                              payment_approvers=frozenset(a for a in approvers if a)))
        if not decision.ok:
            raise PermissionDenied(" ".join(r.message for r in decision.reasons))
        batch.status, batch.released_by, batch.released_at = "released", user.id, uow.now()
        uow.audit(actor_of(user), "batch_released", subject=f"batch:{msg_id}")
        uow.commit()
        return {"batch": msg_id, "status": batch.status}


def import_status(app: App, data: bytes, source: str = "bank file") -> dict[str, Any]:
    """Apply a pain.002 or camt.054 once; anything malformed, unknown or repeated changes nothing."""
    try:
        bank_file = parse_bank_file(data)
    except BankFileError as err:
        raise ServiceError(f"{source}: {err}") from err
    with app.uow() as uow:
        seen = uow.session.scalars(select(BankFileImport).where(
            (BankFileImport.message_id == bank_file.message_id) | (BankFileImport.sha256 == bank_file.sha256))).first()
        if seen is not None:
            raise ServiceError(f"{source}: already imported on {seen.imported_at:%Y-%m-%d} (message {seen.message_id})")
        results = {"accepted": 0, "rejected": 0, "executed": 0}
        for status in bank_file.statuses:
            line = uow.session.scalars(select(PaymentLine).join(PaymentBatch).where(
                PaymentLine.end_to_end_id == status.end_to_end_id, PaymentBatch.status == "released",
                PaymentLine.status.in_(("batched", "accepted"))).order_by(PaymentLine.id.desc())).first()
            if line is None:
                raise ServiceError(f"{source}: {status.end_to_end_id} is in no released batch awaiting an answer")
            _apply(app, uow, line, status)
            results[status.status] += 1
        uow.session.add(BankFileImport(kind=bank_file.kind, message_id=bank_file.message_id,
                                       sha256=bank_file.sha256, imported_at=uow.now(), content=data))
        uow.audit(SYSTEM, "bank_file_imported", subject=f"bank:{bank_file.message_id}",
                  after={"kind": bank_file.kind, **results})
        uow.commit()
        return {"kind": bank_file.kind, "message_id": bank_file.message_id, **results}


def _apply(app: App, uow: UnitOfWork, line: PaymentLine, status: Any) -> None:
    claim = uow.session.get(Claim, line.claim_id)
    exchange = uow.session.get(Exchange, claim.exchange_id)
    if status.status == "accepted":
        line.status = "accepted"
    elif status.status == "rejected":
        line.status, line.reason_code, line.reason_text = "rejected", status.reason_code, status.reason_text
        claim.status, claim.status_reason, claim.batch_id = ClaimStatus.REJECTED, status.reason_text, None
        uow.audit(SYSTEM, "payment_rejected", subject=exchange.ref,
                  after={"code": status.reason_code, "reason": status.reason_text})
        deliver(app, uow, instance_for(uow, "exchange", exchange.id), "payment_rejected",
                {"rejection_code": status.reason_code, "rejection_reason": status.reason_text})
    elif status.status == "executed":
        line.status = "executed"
        claim.status, claim.paid_at = ClaimStatus.PAID, uow.now()
        uow.audit(SYSTEM, "payment_executed", subject=exchange.ref, after={"amount": claim.amount})
        deliver(app, uow, instance_for(uow, "exchange", exchange.id), "payment_confirmed",
                {"paid_amount": str(claim.amount), "paid_on": uow.now().date().isoformat()})


def open_batches(uow: UnitOfWork, status: str) -> list[PaymentBatch]:
    return list(uow.session.scalars(select(PaymentBatch).where(PaymentBatch.status == status)
                                    .order_by(PaymentBatch.id)))


def lines_of(uow: UnitOfWork, batch: PaymentBatch) -> list[PaymentLine]:
    return list(uow.session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id)
                                    .order_by(PaymentLine.id)))


__all__ = ["create_batch", "release_batch", "import_status", "open_batches", "lines_of", "date"]
