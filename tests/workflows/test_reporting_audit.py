"""The auditors' and the EU's files on the tiny programme: the audit file export (contents, hashes, the
same bytes twice), the audit sample (reproducible, and each risk flag raised by a case built for it),
the publication extract and the FSTP report, whose totals equal the bank's executed lines."""
from __future__ import annotations

import hashlib
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks.payment_batch import seed_approved_claims
from tests.workflows.builders import EVIDENCE_FILES, SOUTH_OFFICER, Programme, programme, sha  # noqa: F401
from tests.workflows.reporting_programme import GOOD_IBAN, paid_then_ineligible
from workflows.db.models import Claim, Exchange, Organisation
from workflows.db.process_models import AuditEvent, BankFileImport, PaymentBatch, PaymentLine, ProcessInstance
from workflows.services import NotFound
from workflows.services.audit_files import draw_sample, export_audit_file
from workflows.services.finance_reports import fstp_report, publication_extract


@pytest.fixture
def paid(programme: Programme) -> Programme:  # noqa: F811
    paid_then_ineligible(programme)
    return programme


def test_the_audit_file_holds_the_whole_story_with_its_hashes_and_is_the_same_bytes_twice(paid: Programme,
                                                                                          tmp_path: Path) -> None:
    first = export_audit_file(paid.app, "EX-000002", tmp_path / "one")
    second = export_audit_file(paid.app, "EX-000002", tmp_path / "two")

    data = Path(first["zip"]).read_bytes()
    assert data == Path(second["zip"]).read_bytes() and first["sha256"] == hashlib.sha256(data).hexdigest()
    archive = zipfile.ZipFile(first["zip"])
    cited = [f"evidence/{sha[:12]}-{name}" for sha, name in zip(EVIDENCE_FILES, ("attendance.pdf", "boarding-pass.pdf"),
                                                                 strict=True)]
    assert archive.namelist() == sorted(["audit-file.json", "diagram.svg", "summary.html", "summary.pdf", *cited,
                                         "evidence/SHA256SUMS"])
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    html = archive.read("summary.html").decode()
    with paid.app.uow() as uow:
        s = uow.session
        batches = list(s.scalars(select(PaymentBatch.msg_id).order_by(PaymentBatch.id)))
        bank_hashes = list(s.scalars(select(BankFileImport.sha256)))
        pain001 = list(s.scalars(select(PaymentBatch.file_sha256)))
        exchange_id = s.scalars(select(Exchange.id).where(Exchange.ref == "EX-000002")).one()
        instance_id = s.scalars(select(ProcessInstance.id).where(ProcessInstance.subject_type == "exchange",
                                                                 ProcessInstance.subject_id == exchange_id)).one()
        ours = list(s.scalars(select(AuditEvent.id).where(
            (AuditEvent.subject == "EX-000002") | (AuditEvent.instance_id == instance_id)).order_by(AuditEvent.id)))
    for text in (*EVIDENCE_FILES, "travel day", "2027-02-08", "1100.00", "AC04", "officer1.north",
                 "officer2.north", "Hans Host", "Eligible", *batches, *bank_hashes, *pain001, "intact"):
        assert text in html, text
    # codes in words and events as sentences, not JSON dumps
    for text in ("format Exchange visit, status <strong>Closed</strong>", "Eligibility checked: eligible.",
                 "Status changed from Submitted to Eligible.", "Visit planned from Sun 7 Feb 2027 to Sat 13 Feb 2027."):
        assert text in html, text
    assert "{&#39;" not in html.split("<h2>Audit events</h2>")[-1] and "before → after" not in html
    record = json.loads(archive.read("audit-file.json"))
    assert [e["id"] for e in record["events"]] == ours and all(e["hash_ok"] for e in record["events"])
    assert [p["status"] for p in record["payments"]] == ["rejected", "executed"]
    assert record["working_days"]["dates"][0] == ["2027-02-07", "travel_day"]
    svg = archive.read("diagram.svg").decode()
    assert svg.startswith("<svg") and "#2f855a" in svg and "approve_payment" in record["process"]["completed"]
    assert archive.read("summary.pdf").startswith(b"%PDF")


def test_the_pdf_reads_as_tables_in_words_with_page_numbers_and_the_diagram_in_legible_parts(
        paid: Programme, tmp_path: Path) -> None:
    """Every page of the audit file's PDF: labelled tables (no JSON, no snake_case keys), "page X of N"
    at its foot, and the process diagram printed in parts on landscape pages rather than shrunk to one."""
    import io

    from pypdf import PdfReader

    exported = export_audit_file(paid.app, "EX-000002", tmp_path)
    pdf = PdfReader(io.BytesIO(zipfile.ZipFile(exported["zip"]).read("summary.pdf")))
    pages = [page.extract_text() for page in pdf.pages]
    count = len(pages)
    assert count > 2
    for number, text in enumerate(pages, start=1):
        assert f"page {number} of {count}" in text, number
        assert "{'" not in text and '": ' not in text and "': " not in text, text[:400]
    whole = "\n".join(pages)
    for heading in ("Legal id", "Submitted at", "Declaration on honour", "Proposal status", "Host country",
                    "Full rate min working days", "travel day", "Assess application", "Approve payment"):
        assert heading in whole, heading
    for code in ("legal_id", "submitted_at", "travel_day", "assess_application", "lump_sum", "+00:00"):
        assert code not in whole, code
    parts = [p for p in pages if "Process exchange, part " in p]
    assert len(parts) > 1 and f"part {len(parts)} of {len(parts)}" in parts[-1]
    landscape = [p for p in pdf.pages if "Process exchange, part " in (p.extract_text() or "")]
    assert all(float(p.mediabox.width) > float(p.mediabox.height) for p in landscape)


def test_an_unknown_exchange_is_refused_and_writes_nothing(paid: Programme, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="exchange EX-999999 does not exist"):
        export_audit_file(paid.app, "EX-999999", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def flagged(paid: Programme) -> None:
    """Cases built for the flags the lifecycle did not raise: an override, an extension, the visitor's
    IBAN also an outsider organisation's, a conflict of interest declared on the host."""
    seed_approved_claims(paid.app, 4, partnership_code="CXP-NORTH", ref_offset=100)  # EX-000101 … 104
    with paid.app.uow() as uow:
        s = uow.session
        s.scalars(select(Claim).join(Exchange).where(Exchange.ref == "EX-000102")).one().override = {
            "amount": "900.00", "reason": "Two days lost to a strike", "proposed_by": 2}
        s.scalars(select(Exchange).where(Exchange.ref == "EX-000103")).one().extensions = [
            {"requested_departure": "2027-02-20", "applied": True}]
        s.get(Organisation, paid.outsider_org_id).iban = GOOD_IBAN
        uow.commit()
    paid.declare_conflict(SOUTH_OFFICER, paid.host_org_id)


def test_the_sample_is_reproducible_from_its_seed_and_names_the_flags_that_picked_each_file(paid: Programme) -> None:
    flagged(paid)

    first = draw_sample(paid.app, 2, seed=11)

    assert first == draw_sample(paid.app, 2, seed=11) and first["seed"] == 11
    risk = {p["exchange"]: [r for r in p["reasons"] if r != "random"] for p in first["sample"]}
    assert {ref: flags for ref, flags in risk.items() if flags} == {
        "EX-000002": ["amount_at_cap", "late_evidence", "same_iban_other_organisation", "bank_rejection",
                      "conflict_of_interest"],
        "EX-000003": ["same_iban_other_organisation"],
        "EX-000101": ["amount_at_cap"], "EX-000102": ["override"], "EX-000103": ["extension"],
    }
    randoms = [p["exchange"] for p in first["sample"] if "random" in p["reasons"]]
    assert len(randoms) == 2 and first["population"] == 6
    assert draw_sample(paid.app, 6, seed=1)["sample"][-1] == {"exchange": "EX-000104", "reasons": ["random"]}


def executed_total(paid: Programme) -> Decimal:
    with paid.app.uow() as uow:
        return uow.session.scalar(select(func.sum(PaymentLine.amount)).where(PaymentLine.status == "executed"))


def test_the_publication_extract_equals_the_banks_executed_lines_and_names_no_person(paid: Programme,
                                                                                   tmp_path: Path) -> None:
    from openpyxl import load_workbook

    result = publication_extract(paid.app, 2027, tmp_path)

    assert result["total_eur"] == f"{executed_total(paid):.2f}" == "1100.00"
    csv_path, xlsx_path = (Path(p) for p in result["files"])
    text = csv_path.read_text()
    assert text.splitlines()[1].startswith("Nova Cluster Brussels,BE,1100.00,\"ClusterXchange exchange visit to AT")
    for personal in ("Vera", "Olga", "Hans", "@", "officer"):
        assert personal not in text
    sheet = load_workbook(xlsx_path)["publication-2027"]
    assert [c.value for c in sheet[4]][:3] == ["Nova Cluster Brussels", "BE", 1100.0]
    assert publication_extract(paid.app, 2026, tmp_path)["total_eur"] == "0.00"


def test_the_fstp_report_is_reconciled_to_the_bank_and_lists_every_difference(paid: Programme, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    result = fstp_report(paid.app, "CXP-TEST-01", tmp_path)

    assert result["reconciled"] and result["total_eur"] == result["executed_eur"] == f"{executed_total(paid):.2f}"
    assert Path(result["files"][0]).read_text().splitlines() == [
        "partnership,country,grants_paid,paid_eur,executed_eur,committed_eur", "CXP-NORTH,BE,1,1100.00,1100.00,0.00"]
    with paid.app.uow() as uow:  # the claim's recorded amount no longer matches what the bank paid
        uow.session.scalars(select(Claim)).first().amount = Decimal("1000.00")
        uow.commit()

    changed = fstp_report(paid.app, "CXP-TEST-01", tmp_path)

    assert not changed["reconciled"] and changed["total_eur"] == "1000.00" and changed["executed_eur"] == "1100.00"
    assert [(d["exchange"], d["paid_eur"], d["executed_eur"]) for d in changed["differences"]] == [
        ("EX-000002", "1000.00", "1100.00")]
    book = load_workbook(changed["files"][1])
    assert [c.value for c in book["differences"][4]][:3] == ["EX-000002", 1000.0, 1100.0]
