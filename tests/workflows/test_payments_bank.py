"""The bank's answers, on a real exchange process: paid only on the bank's confirmation, which closes the
exchange; a rejection (or bad bank details found when the batch is made) opens the correction task and
the corrected claim is paid in a later batch; a bank file that is malformed, unknown or already
imported is refused and changes nothing."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from reports.bankfiles import make_camt054, make_pain002
from tests.workflows.builders import (  # noqa: F401
    FINANCE, OFFICER, SECOND_OFFICER, VISITOR, Programme, accept_evidence, evidence, programme,
)
from workflows.app import App
from workflows.db.models import Claim, ClaimStatus
from workflows.db.process_models import AuditEvent, BankFileImport, PaymentBatch, PaymentLine, ProcessInstance
from workflows.services import ServiceError
from workflows.services.payments import create_batch, import_status, release_batch

AT = datetime(2027, 2, 20, 7, 30, tzinfo=timezone.utc)
GOOD_IBAN = "BE71096123456769"


def approved(prog: Programme) -> Programme:
    """The exchange after its payment was approved: the claim waits for the batch."""
    prog.awaiting_evidence()
    prog.complete("submit_evidence", VISITOR, evidence())
    prog.complete("validate_evidence", OFFICER, accept_evidence())
    prog.complete("approve_payment", SECOND_OFFICER, {"decision": "approve", "comment": None})
    return prog


def claim_of(app: App) -> Claim:
    with app.uow() as uow:
        claim = uow.session.scalars(select(Claim)).one()
        uow.session.expunge_all()
        return claim


def released_batch(prog: Programme) -> dict[str, Any]:
    result = create_batch(prog.app, "CXP-NORTH")
    release_batch(prog.app, result["batch"], FINANCE)
    return result


def pain002(batch: str, ref: str, code: str | None, msg: str = "PSR-1") -> bytes:
    return make_pain002(batch, {ref: code}, msg, AT)


def camt054(batch: str, ref: str, amount: Decimal, msg: str = "NTF-1") -> bytes:
    return make_camt054([(ref, amount)], msg, AT, "BE68539007547034", original_msg_id=batch)


def test_a_claim_is_paid_only_when_the_bank_confirms_the_debit_which_closes_the_exchange(programme):  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]

    accepted = import_status(prog.app, pain002(batch, prog.exchange_ref, None), "PSR-1.xml")
    assert accepted["accepted"] == 1 and claim_of(prog.app).status == ClaimStatus.BATCHED
    assert prog.instance().status == "running"

    executed = import_status(prog.app, camt054(batch, prog.exchange_ref, Decimal("1100.00")), "NTF-1.xml")

    assert executed["paid"] == [prog.exchange_ref]
    claim = claim_of(prog.app)
    assert claim.status == ClaimStatus.PAID and claim.paid_at is not None
    assert prog.instance().status == "completed" and prog.exchange().status == "closed"
    with prog.app.uow() as uow:
        assert uow.session.scalars(select(PaymentBatch)).one().status == "settled"


@pytest.mark.parametrize("code", ["AC01", "AC04", "AM05"])
def test_a_rejected_transfer_goes_back_to_its_exchange_and_is_paid_in_a_later_batch(programme, code):  # noqa: F811
    prog = approved(programme)
    first = released_batch(prog)["batch"]

    result = import_status(prog.app, pain002(first, prog.exchange_ref, code), "PSR-1.xml")

    assert result["rejected"] == 1 and result["returned"][0]["code"] == code
    claim = claim_of(prog.app)
    assert (claim.status, claim.batch_id) == (ClaimStatus.REJECTED, None)
    assert prog.open_specs() == ["correct_bank_details"]
    assert create_batch(prog.app, "CXP-NORTH")["batch"] is None  # not again until corrected

    prog.complete("correct_bank_details", VISITOR, {"iban": GOOD_IBAN, "bic": None, "account_holder": "Nova Cluster"})
    prog.complete("verify_bank_details", FINANCE, {"verified": True, "comment": "Checked."})
    second = released_batch(prog)["batch"]
    import_status(prog.app, camt054(second, prog.exchange_ref, Decimal("1100.00")), "NTF-2.xml")

    assert second != first and claim_of(prog.app).status == ClaimStatus.PAID
    with prog.app.uow() as uow:
        lines = [(l.status, l.reason_code) for l in uow.session.scalars(select(PaymentLine).order_by(PaymentLine.id))]
    assert lines == [("rejected", code), ("executed", None)]
    assert prog.instance().status == "completed"


def test_bad_bank_details_found_when_the_batch_is_made_open_the_correction_task(programme):  # noqa: F811
    prog = approved(programme)
    with prog.app.uow() as uow:
        uow.session.scalars(select(Claim)).one().iban = "BE71096123456760"
        uow.commit()

    result = create_batch(prog.app, "CXP-NORTH")

    assert result["batch"] is None
    held, = result["held"]
    assert held["correction_task"] is True and "wrong check digits" in held["reason"]
    assert claim_of(prog.app).status == ClaimStatus.HELD
    assert prog.open_specs() == ["correct_bank_details"]
    prog.complete("correct_bank_details", VISITOR, {"iban": GOOD_IBAN, "bic": None, "account_holder": "Nova Cluster"})
    prog.complete("verify_bank_details", FINANCE, {"verified": True, "comment": "Checked."})
    assert create_batch(prog.app, "CXP-NORTH")["n_tx"] == 1


# --------------------------------------------------------------------------- refused bank files


def snapshot(app: App) -> tuple:
    with app.uow() as uow:
        s = uow.session
        return (sorted((l.id, l.status) for l in s.scalars(select(PaymentLine))),
                sorted((c.id, c.status) for c in s.scalars(select(Claim))),
                [(b.id, b.status) for b in s.scalars(select(PaymentBatch))],
                s.scalar(select(func.count(BankFileImport.id))), s.scalar(select(func.count(AuditEvent.id))),
                [(i.id, i.lock_version) for i in s.scalars(select(ProcessInstance))])


def refused(app: App, data: bytes, message: str) -> None:
    before = snapshot(app)
    with pytest.raises(ServiceError, match=message):
        import_status(app, data, "answer.xml")
    assert snapshot(app) == before


def test_a_malformed_unknown_or_repeated_bank_file_is_refused_and_changes_nothing(programme):  # noqa: F811
    prog = approved(programme)
    made = create_batch(prog.app, "CXP-NORTH")
    batch, ref = made["batch"], prog.exchange_ref
    app = prog.app

    refused(app, pain002(batch, ref, None), "has not been released to the bank")
    release_batch(app, batch, FINANCE)
    refused(app, b"<Document><unclosed></Document>", "answer.xml: the bank file is not well-formed XML")
    refused(app, b"", "the bank file is empty")
    refused(app, open(made["files"][0], "rb").read(), "unknown bank file type: the root element is Document in "
                                                      "namespace urn:iso:std:iso:20022:tech:xsd:pain.001.001.03")
    refused(app, pain002("CXP-NOT-OURS", ref, None), "answers payment message CXP-NOT-OURS, which is none of our")
    refused(app, pain002(batch, "EX-999999", None), f"EX-999999 is not in batch {batch}")
    refused(app, camt054(batch, ref, Decimal("1000.00")), "reports EUR 1000.00 .* the batch line is EUR 1100.00")

    import_status(app, pain002(batch, ref, None, msg="PSR-OK"), "PSR-OK.xml")
    refused(app, pain002(batch, ref, None, msg="PSR-OK"), "already imported: the same file was imported on")
    refused(app, make_pain002(batch, {ref: None}, "PSR-OK", datetime(2027, 2, 21, tzinfo=timezone.utc)),
            "already imported: a file with the same message id PSR-OK")
    import_status(app, camt054(batch, ref, Decimal("1100.00"), msg="NTF-OK"), "NTF-OK.xml")
    refused(app, camt054(batch, ref, Decimal("1100.00"), msg="NTF-AGAIN"), "already recorded as executed")


def test_a_status_report_rejecting_the_whole_group_rejects_every_open_line(programme):  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]
    report = pain002(batch, prog.exchange_ref, "FF01").replace(
        b"<TxInfAndSts>", b"<!--").replace(b"</TxInfAndSts>", b"-->")  # no transaction details

    result = import_status(prog.app, report, "PSR-group.xml")

    assert result["rejected"] == 1 and claim_of(prog.app).status == ClaimStatus.REJECTED
    assert prog.open_specs() == ["correct_bank_details"]
