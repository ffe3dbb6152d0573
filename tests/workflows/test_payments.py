"""Payment batches through the service functions: the file, exactly once, rebuilding, release (R-4EYES)."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from benchmarks.payment_batch import DEBTOR, seed_approved_claims
from reports.sepa import PAIN001_NS, is_business_day, validate_pain001
from tests.workflows.builders import as_user
from workflows.app import App
from workflows.db.models import Claim, ClaimStatus, ConflictDeclaration, Partnership, User
from workflows.db.process_models import AuditEvent, OutboxMessage, PaymentBatch, PaymentLine
from workflows.services import NotFound, PermissionDenied, ServiceError
from workflows.services.access import SYSTEM
from workflows.services.payments import (
    batch_detail,
    batch_ids,
    create_batch,
    export_batch,
    list_batches,
    recover_files,
    release_batch,
    run_payment_batches,
)

NS = {"p": PAIN001_NS}


def rows(app: App, model: type, *where) -> list:
    with app.uow() as uow:
        found = list(uow.session.scalars(select(model).where(*where)))
        uow.session.expunge_all()
        return found


def count(app: App, model: type) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def five(app: App) -> list[str]:
    return seed_approved_claims(app, 5, partnership_code="CXP-NORTH")


def test_a_batch_pays_every_approved_claim_from_the_partnership_account_in_a_valid_pain001(app, five):
    result = create_batch(app, "CXP-NORTH")

    xml_path, csv_path = (Path(p) for p in result["files"])
    xml = xml_path.read_bytes()
    validate_pain001(xml)  # the official XSD, NbOfTxs and CtrlSum against the lines
    root = etree.fromstring(xml)
    assert root.findtext(".//p:GrpHdr/p:MsgId", namespaces=NS) == result["batch"]
    assert root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS) == "5"
    claims = rows(app, Claim)
    assert Decimal(root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS)) == sum(c.amount for c in claims)
    assert root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == DEBTOR["iban"]
    assert root.findtext(".//p:PmtInfId", namespaces=NS) != result["batch"]
    assert sorted(root.xpath("//p:EndToEndId/text()", namespaces=NS)) == five  # EndToEndId = exchange id
    remittances = root.xpath("//p:RmtInf/p:Ustrd/text()", namespaces=NS)
    assert all(len(r) <= 140 and r.startswith("ClusterXchange grant EX-") for r in remittances)
    assert "Cluster Oresund ApS 0" in root.xpath("//p:Cdtr/p:Nm/text()", namespaces=NS)  # Č, Ø transliterated
    execution = date.fromisoformat(root.findtext(".//p:ReqdExctnDt", namespaces=NS))
    assert is_business_day(execution) and execution.isoformat() == result["execution_date"]
    summary = list(csv.reader(io.StringIO(csv_path.read_text())))
    assert [r[1] for r in summary[1:-1]] == five and summary[-1][1] == "TOTAL"
    assert {c.status for c in claims} == {ClaimStatus.BATCHED}


def test_the_batch_its_lines_its_email_and_its_audit_event_are_one_transaction(app, five):
    result = create_batch(app, "CXP-NORTH")

    batch, = rows(app, PaymentBatch)
    assert (batch.msg_id, batch.n_tx, batch.status, batch.debtor_iban) == (result["batch"], 5, "created", DEBTOR["iban"])
    assert len(rows(app, PaymentLine, PaymentLine.batch_id == batch.id)) == 5
    email, = rows(app, OutboxMessage, OutboxMessage.template == "payment_batch_ready")
    assert email.recipients == ["finance.cxp-north@example.org"]
    assert [a["filename"] for a in email.attachments] == [f"{batch.msg_id}.xml", f"{batch.msg_id}.csv"]
    assert email.attachments[0]["sha256"] == batch.file_sha256
    event, = rows(app, AuditEvent, AuditEvent.action == "batch_created")
    assert sorted(event.data_after["claims"]) == five and event.data_after["sha256"] == batch.file_sha256


def test_running_the_batch_again_puts_no_claim_in_a_second_batch(app, five):
    first = create_batch(app, "CXP-NORTH")
    again = run_payment_batches(app)

    assert again["batches"] == [] and again["files"] == []
    assert count(app, PaymentBatch) == 1 and count(app, PaymentLine) == 5
    later = seed_approved_claims(app, 2, partnership_code="CXP-NORTH", ref_offset=100)
    second = create_batch(app, "CXP-NORTH")
    assert second["batch"] != first["batch"] and second["n_tx"] == 2
    assert sorted(l.end_to_end_id for l in rows(app, PaymentLine, PaymentLine.batch_id != 1)) == later


def test_the_database_itself_refuses_a_second_open_line_for_a_claim(app, five):
    create_batch(app, "CXP-NORTH")
    with app.uow() as uow:
        first = uow.session.scalars(select(PaymentBatch)).one()
        line = uow.session.scalars(select(PaymentLine)).first()
        other = PaymentBatch(partnership_id=first.partnership_id, business_date=first.business_date,
                             execution_date=first.execution_date, msg_id="OTHER-B", pmt_inf_id="OTHER-P", n_tx=1,
                             control_sum=line.amount, created_at=first.created_at)
        uow.session.add(other)
        uow.session.flush()
        uow.session.add(PaymentLine(batch_id=other.id, claim_id=line.claim_id, end_to_end_id=line.end_to_end_id,
                                    amount=line.amount, creditor_name="x", iban=line.iban, status="batched"))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_exporting_a_batch_again_gives_the_same_bytes(app, five, tmp_path):
    result = create_batch(app, "CXP-NORTH")
    original = [Path(p).read_bytes() for p in result["files"]]

    exported = export_batch(app, result["batch"], tmp_path / "again")

    assert [Path(p).read_bytes() for p in exported["files"]] == original
    assert exported["sha256"] == result["sha256"]


def test_missing_or_damaged_files_of_a_committed_batch_are_rebuilt_identically(app, five):
    result = create_batch(app, "CXP-NORTH")
    xml_path, csv_path = (Path(p) for p in result["files"])
    original = xml_path.read_bytes(), csv_path.read_bytes()
    xml_path.unlink()
    csv_path.write_bytes(b"tampered")

    restored = recover_files(app)

    assert sorted(restored) == sorted(result["files"])
    assert (xml_path.read_bytes(), csv_path.read_bytes()) == original
    assert recover_files(app) == []  # intact now: nothing to do


def test_a_batch_whose_stored_lines_were_changed_is_never_exported_as_a_different_file(app, five, tmp_path):
    result = create_batch(app, "CXP-NORTH")
    with app.uow() as uow:
        uow.session.scalars(select(PaymentLine)).first().amount = Decimal("1.00")
        uow.commit()

    with pytest.raises(ServiceError, match="SHA-256 .* not the .* committed with the batch"):
        export_batch(app, result["batch"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_claim_with_bad_bank_details_is_held_out_with_the_reason(app):
    refs = seed_approved_claims(app, 4, partnership_code="CXP-NORTH", bad=frozenset({1}))

    result = create_batch(app, "CXP-NORTH")

    assert result["n_tx"] == 3
    held, = result["held"]
    assert held["exchange"] == refs[1]
    assert "iban: IBAN DE00370400441000000000 has wrong check digits" in held["reason"]
    assert held["correction_task"] is False  # these claims have no process; see test_payments_bank
    claim = rows(app, Claim, Claim.exchange_id == 2)[0]
    assert (claim.status, claim.batch_id) == (ClaimStatus.HELD, None) and "check digits" in claim.status_reason
    assert refs[1] not in [l.end_to_end_id for l in rows(app, PaymentLine)]
    email, = rows(app, OutboxMessage, OutboxMessage.template == "payment_batch_ready")
    assert email.context["held_out"] == [{"exchange_id": refs[1], "reason": held["reason"]}]
    told, = rows(app, OutboxMessage, OutboxMessage.template == "payment_rejected")  # the visitor, with the reason
    assert told.context["exchange_id"] == refs[1] and told.context["reason_text"] == held["reason"]


def test_when_every_claim_is_held_no_batch_is_made(app):
    seed_approved_claims(app, 2, partnership_code="CXP-NORTH", bad=frozenset({0, 1}))

    result = create_batch(app, "CXP-NORTH")

    assert result["batch"] is None and len(result["held"]) == 2
    assert count(app, PaymentBatch) == 0  # no batch email; each visitor is told why its claim is held
    assert sorted(m.template for m in rows(app, OutboxMessage)) == ["payment_rejected"] * 2


def test_a_partnership_without_a_valid_debtor_account_gets_no_batch_and_nothing_changes(app, five):
    seed_approved_claims(app, 1, partnership_code="CXP-SOUTH", ref_offset=50)
    with app.uow() as uow:
        uow.session.scalars(select(Partnership).where(Partnership.code == "CXP-NORTH")).one().debtor_iban = "BE00"
        uow.commit()

    result = run_payment_batches(app)

    assert [b["partnership"] for b in result["batches"]] == ["CXP-SOUTH"]
    error, = result["errors"]
    assert error["partnership"] == "CXP-NORTH" and "debtor iban" in error["error"]
    assert {c.status for c in rows(app, Claim, Claim.partnership_id == 1)} == {ClaimStatus.APPROVED}


def test_an_unknown_partnership_is_named(app):
    with pytest.raises(NotFound, match="no partnership 'NOPE'"):
        create_batch(app, "NOPE")


def test_batch_ids_are_unique_sepa_identifiers_of_at_most_35_characters():
    msg, pmt = batch_ids("A very long partnership code / with spaces", date(2027, 3, 1), 1234567)
    assert len(msg) <= 35 and len(pmt) <= 35 and msg != pmt
    assert msg.endswith("B20270301-1234567") and " " not in msg
    assert batch_ids("CXP-NORTH", date(2027, 3, 1), 1) != batch_ids("CXP-NORTH", date(2027, 3, 1), 2)


# --------------------------------------------------------------------------- release (R-4EYES)


def add_user(app: App, username: str, role: str, partnership_code: str = "CXP-NORTH") -> int:
    with app.uow() as uow:
        pid = uow.session.scalars(select(Partnership.id).where(Partnership.code == partnership_code)).one()
        user = User(username=username, display_name=username, email=f"{username}@example.org", role=role,
                    partnership_id=pid)
        uow.session.add(user)
        uow.commit()
        return user.id


def test_a_finance_user_who_approved_none_of_its_payments_releases_the_batch(app, five):
    batch = create_batch(app, "CXP-NORTH")["batch"]

    result = release_batch(app, batch, as_user(app, "finance.cxp-north"))

    assert result.status == "released"
    released = rows(app, PaymentBatch)[0]
    assert released.status == "released" and released.released_at is not None
    assert rows(app, AuditEvent, AuditEvent.action == "batch_released")[0].actor == "finance.cxp-north"
    with pytest.raises(ServiceError, match="is released, not awaiting release"):
        release_batch(app, batch, as_user(app, "finance.cxp-north"))


def test_whoever_approved_a_payment_in_the_batch_cannot_release_it_and_the_refusal_is_audited(app, five):
    approver = add_user(app, "fin.approver", "finance")
    with app.uow() as uow:
        uow.session.scalars(select(Claim)).first().approved_by = approver
        uow.commit()
    batch = create_batch(app, "CXP-NORTH")["batch"]

    with pytest.raises(PermissionDenied, match="You approved a payment in this batch"):
        release_batch(app, batch, as_user(app, "fin.approver"))

    assert rows(app, PaymentBatch)[0].status == "created"
    refusal, = rows(app, AuditEvent, AuditEvent.action == "batch_release_refused")
    assert refusal.actor == "fin.approver"


@pytest.mark.parametrize("who", ["officer", "other-partnership", "conflict"])
def test_only_a_finance_user_of_the_partnership_without_a_conflict_may_release(app, five, who):
    seed_approved_claims(app, 1, partnership_code="CXP-SOUTH", ref_offset=50)
    batch = create_batch(app, "CXP-NORTH")["batch"]
    if who == "officer":
        username, expected = "approver.cxp-north", "not a finance officer"
    elif who == "other-partnership":  # another partnership's batch is not there for them (HTTP 404)
        username, expected = "finance.cxp-south", "does not exist"
    else:
        username, expected = "finance.cxp-north", "conflict of interest"
        with app.uow() as uow:
            uow.session.add(ConflictDeclaration(user_id=uow.session.scalars(select(User.id).where(
                User.username == username)).one(), organisation_id=1, declared_at=uow.now()))
            uow.commit()

    with pytest.raises(NotFound if who == "other-partnership" else PermissionDenied, match=expected):
        release_batch(app, batch, as_user(app, username))
    assert rows(app, PaymentBatch, PaymentBatch.msg_id == batch)[0].status == "created"
    refusals = rows(app, AuditEvent, AuditEvent.action == "batch_release_refused")
    assert [e.actor for e in refusals] == ([] if who == "other-partnership" else [username])


def test_the_batch_list_says_what_the_bank_did_with_each_batch(app, five):
    batch = create_batch(app, "CXP-NORTH")["batch"]

    listed, = list_batches(app, SYSTEM)
    detail = batch_detail(app, SYSTEM, batch)

    assert (listed.batch, listed.status, listed.n_tx, listed.lines) == (batch, "created", 5, {"batched": 5})
    assert [t.exchange for t in detail.transfers] == five
    assert list_batches(app, SYSTEM, status="settled") == []


def test_two_runs_at_the_same_moment_put_each_claim_in_one_batch(app):
    import threading

    seed_approved_claims(app, 200, partnership_code="CXP-NORTH")
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(create_batch(app, "CXP-NORTH")["n_tx"])
        except Exception as err:  # noqa: BLE001 - SQLite may refuse the second writer; nothing is written then
            outcomes.append(type(err).__name__)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 200 in outcomes and len(outcomes) == 2
    with app.uow() as uow:
        per_claim = uow.session.execute(select(PaymentLine.claim_id, func.count()).group_by(PaymentLine.claim_id)).all()
    assert len(per_claim) == 200 and {n for _, n in per_claim} == {1}
    assert count(app, PaymentBatch) == 1
