"""Evidence that can be trusted (issue 20, point 4): the exchange's officers, organisations and
auditors open every uploaded file from the store; a closing report cites only files uploaded for its
exchange; the audit file carries the files beside their hashes."""
from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from tests.workflows.builders import (  # noqa: F401
    ATTENDANCE_PDF,
    AUDITOR,
    FINANCE,
    OFFICER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    evidence,
    programme,
)
from workflows.services import Invalid, NotFound, Refused
from workflows.services.evidence import open_evidence, upload_evidence

PDF = b"%PDF-1.4\n% minutes of the joint learning event\n%%EOF\n"
DIGEST = hashlib.sha256(PDF).hexdigest()


def _uploaded(programme: Programme) -> Programme:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    upload_evidence(programme.app, programme.principal(VISITOR), programme.exchange_ref, "minutes.pdf", "other", PDF)
    return programme


@pytest.mark.parametrize("reader", [OFFICER, AUDITOR, VISITOR, SOUTH_OFFICER])
def test_the_exchanges_officers_auditors_and_organisations_open_each_uploaded_file(programme: Programme,  # noqa: F811
                                                                                   reader: str) -> None:
    _uploaded(programme)
    out, data = open_evidence(programme.app, programme.principal(reader), programme.exchange_ref, DIGEST.upper())
    assert (data, out.filename, out.media_type, out.sha256) == (PDF, "minutes.pdf", "application/pdf", DIGEST)


def test_finance_is_refused_the_files_and_the_refusal_is_audited(programme: Programme) -> None:  # noqa: F811
    _uploaded(programme)
    with pytest.raises(Refused, match="finance and may not open the evidence files"):
        open_evidence(programme.app, programme.principal(FINANCE), programme.exchange_ref, DIGEST)
    event = programme.events("evidence_refused")[-1]
    assert event.actor == FINANCE and event.subject == programme.exchange_ref


def test_a_hash_not_uploaded_for_the_exchange_is_not_found(programme: Programme) -> None:  # noqa: F811
    _uploaded(programme)
    with pytest.raises(NotFound, match="has no evidence file"):
        open_evidence(programme.app, programme.principal(OFFICER), programme.exchange_ref, "ab" * 32)


def test_a_file_changed_in_the_store_is_not_served(programme: Programme) -> None:  # noqa: F811
    from workflows.services import Conflict
    from workflows.services.evidence_store import evidence_path

    _uploaded(programme)
    evidence_path(programme.app, DIGEST).write_bytes(PDF + b"tampered")
    with pytest.raises(Conflict, match="missing or changed in the store"):
        open_evidence(programme.app, programme.principal(OFFICER), programme.exchange_ref, DIGEST)


def test_a_closing_report_may_cite_only_files_uploaded_for_its_exchange(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    report = evidence()
    report["documents"].append({"kind": "invoice", "filename": "invoice-elsewhere.pdf", "sha256": "cd" * 32,
                                "size": 1000})
    programme.upload_cited(programme.exchange_ref or "", report)
    task = programme.open_task("submit_evidence")
    from workflows.services.inbox import complete_task

    with pytest.raises(Invalid) as refused:
        complete_task(programme.app, task.id, programme.principal(VISITOR), report)
    assert [(f.loc, f.msg) for f in refused.value.fields] == [
        (("documents",), "item 3 (invoice-elsewhere.pdf) is not a file uploaded for this exchange: upload it, "
                         "then pick it")]
    assert programme.open_specs() == ["submit_evidence"]  # nothing written


def test_the_audit_file_carries_the_evidence_files_beside_their_hashes(programme: Programme,  # noqa: F811
                                                                        tmp_path) -> None:  # noqa: ANN001
    from workflows.services.audit_files import export_audit_file

    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    programme.complete("validate_evidence", OFFICER, accept_evidence())
    result = export_audit_file(programme.app, programme.exchange_ref or "", tmp_path)
    with zipfile.ZipFile(io.BytesIO(open(result["zip"], "rb").read())) as archive:
        names = archive.namelist()
        digest = hashlib.sha256(ATTENDANCE_PDF).hexdigest()
        entry = f"evidence/{digest[:12]}-attendance.pdf"
        assert archive.read(entry) == ATTENDANCE_PDF
        sums = archive.read("evidence/SHA256SUMS").decode()
    assert f"{digest}  {entry.removeprefix('evidence/')}" in sums.splitlines()
    assert entry in names and entry in result["entries"]
