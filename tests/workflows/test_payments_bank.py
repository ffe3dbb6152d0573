"""The bank's answers, on a real exchange process: paid only on the bank's confirmation, which closes the
exchange; a rejection (or bad bank details found when the batch is made) opens the correction task and
the corrected claim is paid in a later batch; a bank file that is malformed, unknown or already
imported is refused and changes nothing."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from reports.bankfiles import make_camt054, make_pain002
from tests.workflows.builders import (
    ADMIN,
    FINANCE,
    OFFICER,
    SECOND_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    as_user,  # noqa: F401
    evidence,
    programme,
)
from workflows.app import App
from workflows.db.models import Claim, ClaimStatus, Partnership, User
from workflows.db.process_models import AuditEvent, BankFileImport, PaymentBatch, PaymentLine, ProcessInstance
from workflows.services import PermissionDenied, ServiceError
from workflows.services.access import SYSTEM
from workflows.services.bank_feedback import finance_user_for
from workflows.services.payments import create_batch, import_status, release_batch
from workflows.services.views import instance_view

AT = datetime(2027, 2, 20, 7, 30, tzinfo=UTC)
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
    release_batch(prog.app, result["batch"], as_user(prog.app, FINANCE))
    return result


def pain002(batch: str, ref: str, code: str | None, msg: str = "PSR-1", version: str = "pain.002.001.03") -> bytes:
    return make_pain002(batch, {ref: code}, msg, AT, version=version)


def camt054(batch: str, ref: str, amount: Decimal, msg: str = "NTF-1", version: str = "camt.054.001.02") -> bytes:
    return make_camt054([(ref, amount)], msg, AT, "BE68539007547034", original_msg_id=batch, version=version)


def test_a_claim_is_paid_only_when_the_bank_confirms_the_debit_which_closes_the_exchange(programme):  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]

    accepted = import_status(prog.app, pain002(batch, prog.exchange_ref, None), "PSR-1.xml", as_user(prog.app, FINANCE))
    assert accepted.accepted == 1 and claim_of(prog.app).status == ClaimStatus.BATCHED
    assert prog.instance().status == "running"

    executed = import_status(prog.app, camt054(batch, prog.exchange_ref, Decimal("1100.00")), "NTF-1.xml",
                             as_user(prog.app, FINANCE))

    assert executed.paid == [prog.exchange_ref]
    claim = claim_of(prog.app)
    assert claim.status == ClaimStatus.PAID and claim.paid_at is not None
    assert prog.instance().status == "completed" and prog.exchange().status == "closed"
    with prog.app.uow() as uow:
        assert uow.session.scalars(select(PaymentBatch)).one().status == "settled"


@pytest.mark.parametrize("code", ["AC01", "AC04", "AM05"])
def test_a_rejected_transfer_goes_back_to_its_exchange_and_is_paid_in_a_later_batch(programme, code):  # noqa: F811
    prog = approved(programme)
    first = released_batch(prog)["batch"]

    result = import_status(prog.app, pain002(first, prog.exchange_ref, code), "PSR-1.xml", as_user(prog.app, FINANCE))

    assert result.rejected == 1 and result.returned[0].code == code
    claim = claim_of(prog.app)
    assert (claim.status, claim.batch_id) == (ClaimStatus.REJECTED, None)
    assert prog.open_specs() == ["correct_bank_details"]
    assert create_batch(prog.app, "CXP-NORTH")["batch"] is None  # not again until corrected

    prog.complete("correct_bank_details", VISITOR, {"iban": GOOD_IBAN, "bic": None, "account_holder": "Nova Cluster"})
    prog.complete("verify_bank_details", FINANCE, {"verified": True, "comment": "Checked."})
    second = released_batch(prog)["batch"]
    import_status(prog.app, camt054(second, prog.exchange_ref, Decimal("1100.00")), "NTF-2.xml", as_user(prog.app, FINANCE))

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
        import_status(app, data, "answer.xml", as_user(app, FINANCE))
    assert snapshot(app) == before


def test_a_malformed_unknown_or_repeated_bank_file_is_refused_and_changes_nothing(programme):  # noqa: F811
    prog = approved(programme)
    made = create_batch(prog.app, "CXP-NORTH")
    batch, ref = made["batch"], prog.exchange_ref
    app = prog.app

    refused(app, pain002(batch, ref, None), "has not been released to the bank")
    release_batch(app, batch, as_user(app, FINANCE))
    refused(app, b"<Document><unclosed></Document>", "answer.xml: the bank file is not well-formed XML")
    refused(app, b"", "the bank file is empty")
    refused(app, open(made["files"][0], "rb").read(), "unknown bank file type: the root element is Document in "
                                                      "namespace urn:iso:std:iso:20022:tech:xsd:pain.001.001.03")
    refused(app, pain002("CXP-NOT-OURS", ref, None), "answers payment message CXP-NOT-OURS, which is none of our")
    refused(app, pain002(batch, "EX-999999", None), f"EX-999999 is not in batch {batch}")
    refused(app, camt054(batch, ref, Decimal("1000.00")), "reports EUR 1000.00 .* the batch line is EUR 1100.00")

    import_status(app, pain002(batch, ref, None, msg="PSR-OK"), "PSR-OK.xml", as_user(app, FINANCE))
    refused(app, pain002(batch, ref, None, msg="PSR-OK"), "already imported: the same file was imported on")
    refused(app, make_pain002(batch, {ref: None}, "PSR-OK", datetime(2027, 2, 21, tzinfo=UTC)),
            "already imported: a file with the same message id PSR-OK")
    import_status(app, camt054(batch, ref, Decimal("1100.00"), msg="NTF-OK"), "NTF-OK.xml", as_user(app, FINANCE))
    refused(app, camt054(batch, ref, Decimal("1100.00"), msg="NTF-AGAIN"), "already recorded as executed")


def test_a_status_report_rejecting_the_whole_group_rejects_every_open_line(programme):  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]
    report = pain002(batch, prog.exchange_ref, "FF01").replace(
        b"<TxInfAndSts>", b"<!--").replace(b"</TxInfAndSts>", b"-->")  # no transaction details

    result = import_status(prog.app, report, "PSR-group.xml", as_user(prog.app, FINANCE))

    assert result.rejected == 1 and claim_of(prog.app).status == ClaimStatus.REJECTED
    assert prog.open_specs() == ["correct_bank_details"]


def test_a_schema_invalid_bank_file_is_refused_with_the_schema_error_and_changes_nothing(programme):  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]
    broken = pain002(batch, prog.exchange_ref, None).replace(b"<GrpSts>ACCP</GrpSts>", b"<GrpSts>OK</GrpSts>")

    refused(prog.app, broken, r"answer.xml: the bank file does not match the official pain.002.001.03 XSD: line \d+: "
                              r"Element 'GrpSts': \[facet 'enumeration'\] The value 'OK' is not an element of the set")


# --------------------------------------------------------------------------- who imports, and the history


@pytest.mark.parametrize(("status_version", "notice_version"), [("pain.002.001.03", "camt.054.001.02"),
                                                                ("pain.002.001.12", "camt.054.001.08")])
def test_the_import_is_attributed_to_its_user_and_recorded_in_the_exchange_history(
        programme, status_version: str, notice_version: str) -> None:  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]
    report = pain002(batch, prog.exchange_ref, None, version=status_version)
    notice = camt054(batch, prog.exchange_ref, Decimal("1100.00"), version=notice_version)

    accepted = import_status(prog.app, report, "PSR-1.xml", as_user(prog.app, FINANCE))
    paid = import_status(prog.app, notice, "NTF-1.xml", as_user(prog.app, FINANCE))

    assert (accepted.version, accepted.imported_by) == (status_version, FINANCE)
    assert (paid.version, paid.paid) == (notice_version, [prog.exchange_ref])
    with prog.app.uow() as uow:
        events = {e.action: (e.actor, e.actor_role) for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(["bank_file_imported", "payment_executed", "batch_settled"])))}
        history = instance_view(uow, SYSTEM, prog.instance_id).model_dump()["history"]
    assert events == {action: (FINANCE, "finance")
                      for action in ("bank_file_imported", "payment_executed", "batch_settled")}
    recorded = [h for h in history if h["action"] == "bank_status_recorded"]
    assert [(h["actor"], h["role"]) for h in recorded] == [(FINANCE, "finance"), (FINANCE, "finance")]
    assert recorded[0]["after"] == {
        "status": "accepted", "reason_code": None, "reason": None, "amount": None, "file": status_version,
        "message_id": "PSR-1", "sha256": hashlib.sha256(report).hexdigest()}
    assert recorded[1]["after"]["status"] == "executed" and recorded[1]["after"]["amount"] == "1100.00"
    assert recorded[1]["after"]["sha256"] == hashlib.sha256(notice).hexdigest()


def test_a_rejection_is_recorded_in_the_history_with_its_reason_code(programme):  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]

    import_status(prog.app, pain002(batch, prog.exchange_ref, "AC04", version="pain.002.001.12"), "PSR.xml", as_user(prog.app, FINANCE))

    with prog.app.uow() as uow:
        history = instance_view(uow, SYSTEM, prog.instance_id).model_dump()["history"]
        rejected = uow.session.execute(select(AuditEvent.actor, AuditEvent.actor_role).where(
            AuditEvent.action == "payment_rejected")).one()
    recorded, = [h for h in history if h["action"] == "bank_status_recorded"]
    assert (recorded["after"]["status"], recorded["after"]["reason_code"]) == ("rejected", "AC04")
    assert recorded["after"]["reason"] == "Closed account number"
    assert tuple(rejected) == (FINANCE, "finance")


def test_the_visitor_is_mailed_the_banks_reason_and_a_link_to_correct_its_bank_details(programme):  # noqa: F811
    from workflows.db.models import Organisation
    from workflows.db.process_models import HumanTask, OutboxMessage
    from workflows.mail import render_email

    prog = approved(programme)
    batch = released_batch(prog)["batch"]
    report = pain002(batch, prog.exchange_ref, "AC04", version="pain.002.001.12")
    import_status(prog.app, report, "PSR.xml", as_user(prog.app, FINANCE))

    with prog.app.uow() as uow:
        mails = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "payment_rejected")))
        task_id = uow.session.scalars(select(HumanTask.id).where(HumanTask.task_spec == "correct_bank_details",
                                                                  HumanTask.status == "open")).one()
        iban = uow.session.scalars(select(Organisation.iban).where(
            Organisation.contact_email == mails[0].recipients[0])).one() if mails else None
        context = mails[0].context if mails else {}
    assert len(mails) == 1 and iban
    assert context["exchange_id"] == prog.exchange_ref and context["reason_text"] == "Closed account number"
    assert context["reason_code"] == "AC04" and context["portal_url"].endswith(f"/tasks/{task_id}")
    assert context["iban_hint"] == iban.replace(" ", "")[-4:]
    _subject, text, _html = render_email("payment_rejected", context)
    assert "Closed account number" in text and f"/tasks/{task_id}" in text

    # the same answer imported again is refused and mails nobody twice
    with pytest.raises(ServiceError):
        import_status(prog.app, report, "PSR.xml", as_user(prog.app, FINANCE))
    with prog.app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.template == "payment_rejected")) == 1


def audited_refusals(app: App) -> list[tuple[str, str, str]]:
    with app.uow() as uow:
        return [(e.actor, e.actor_role, e.data_after["reason"]) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "bank_import_refused").order_by(AuditEvent.id))]


@pytest.mark.parametrize("who", [OFFICER, VISITOR, ADMIN])
def test_an_officer_applicant_or_administrator_is_refused_and_the_refusal_is_audited(programme, who: str) -> None:  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]
    before = snapshot(prog.app)

    with pytest.raises(PermissionDenied, match=f"{who} is (officer|applicant|administrator): only a finance "
                                               "officer imports bank files; nothing was imported"):
        import_status(prog.app, pain002(batch, prog.exchange_ref, None), "PSR-1.xml", as_user(prog.app, who))

    after = snapshot(prog.app)
    assert after[:4] == before[:4] and after[5] == before[5] and after[4] == before[4] + 1  # one audit event
    (actor, role, reason), = audited_refusals(prog.app)
    assert actor == who and role in ("officer", "applicant", "administrator") and "only a finance officer" in reason


def test_a_finance_officer_of_another_partnership_is_refused(programme):  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]
    with prog.app.uow() as uow:
        south = uow.session.scalars(select(Partnership).where(Partnership.code == "CXP-SOUTH")).one()
        uow.session.add(User(username="finance.south", display_name="Sam South", email="fs@cx.local",
                             role="finance", partnership_id=south.id))
        uow.commit()
    before = snapshot(prog.app)

    with pytest.raises(PermissionDenied, match=f"finance.south is not a finance officer of partnership CXP-NORTH, "
                                               f"whose batch {batch} the file answers"):
        import_status(prog.app, pain002(batch, prog.exchange_ref, None), "PSR-1.xml", as_user(prog.app, "finance.south"))

    assert snapshot(prog.app)[:4] == before[:4] and claim_of(prog.app).status == ClaimStatus.BATCHED
    assert [a for a, _, _ in audited_refusals(prog.app)] == ["finance.south"]


def test_the_finance_user_of_a_bank_file_is_found_from_its_batch(programme):  # noqa: F811
    prog = approved(programme)
    batch = released_batch(prog)["batch"]
    assert finance_user_for(prog.app, pain002(batch, prog.exchange_ref, None)) == FINANCE
    with pytest.raises(ServiceError, match="no active finance user of the partnership of batch CXP-ELSEWHERE"):
        finance_user_for(prog.app, pain002("CXP-ELSEWHERE", prog.exchange_ref, None))


# --------------------------------------------------------------------------- names in any script


def test_a_greek_account_holder_is_paid_under_the_transliterated_name(programme):  # noqa: F811
    prog = approved(programme)
    with prog.app.uow() as uow:
        uow.session.scalars(select(Claim)).one().creditor_name = "Σύμπλεγμα Καινοτομίας Αθηνών"
        uow.commit()

    made = create_batch(prog.app, "CXP-NORTH")

    assert made["n_tx"] == 1 and made["held"] == []
    assert "<Nm>Symplegma Kainotomias Athinon</Nm>" in open(made["files"][0], encoding="utf-8").read()


def test_an_account_holder_with_nothing_usable_in_sepa_characters_is_held_with_the_reason(programme):  # noqa: F811
    prog = approved(programme)
    with prog.app.uow() as uow:
        uow.session.scalars(select(Claim)).one().creditor_name = "ЪЬ"
        uow.commit()

    made = create_batch(prog.app, "CXP-NORTH")

    held, = made["held"]
    assert made["batch"] is None
    assert "creditor_name: the account holder's name 'ЪЬ' has no letter or digit" in held["reason"]
    assert claim_of(prog.app).status == ClaimStatus.HELD and prog.open_specs() == ["correct_bank_details"]
    from workflows.db.process_models import OutboxMessage

    with prog.app.uow() as uow:  # the visitor is told why, with the link to the correction task
        mail, = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "payment_rejected"))
        assert "has no letter or digit" in mail.context["reason_text"]
        assert mail.context["portal_url"].endswith(f"/tasks/{prog.open_task('correct_bank_details').id}")
