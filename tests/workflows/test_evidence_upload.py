"""Evidence files: stored once by content hash outside any web root, the type judged by content,
the size limited, and only the exchange's own people may upload."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from tests.workflows.builders import (  # noqa: F401
    ADMIN,
    HOST,
    OFFICER,
    OUTSIDER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    programme,
)
from workflows.db.models import EvidenceFile
from workflows.services import Conflict, Invalid, NotFound, Refused, TooLarge, WrongType
from workflows.services.access import principal_by_name
from workflows.services.evidence import evidence_path, list_evidence, upload_evidence

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def as_(programme: Programme, username: str):  # noqa: F811, ANN201
    return principal_by_name(programme.app, username)


def rows(programme: Programme) -> int:  # noqa: F811
    with programme.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(EvidenceFile))


def test_the_visitor_uploads_a_pdf_and_it_is_kept_by_its_hash_outside_the_web_folders(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    out = upload_evidence(programme.app, as_(programme, VISITOR), programme.exchange_ref, "C:\\Users\\v\\cert.pdf",
                          "attendance_certificate", PDF)
    digest = hashlib.sha256(PDF).hexdigest()
    assert (out.sha256, out.filename, out.media_type, out.size, out.uploaded_by) == (
        digest, "cert.pdf", "application/pdf", len(PDF), VISITOR)
    path = evidence_path(programme.app, digest)
    assert path.read_bytes() == PDF and "static" not in path.parts
    event = programme.events("evidence_uploaded")[-1]
    assert event.data_after["sha256"] == digest and event.subject == programme.exchange_ref


def test_the_same_content_twice_is_recorded_once(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    upload_evidence(programme.app, as_(programme, HOST), programme.exchange_ref, "a.png", "other", PNG)
    again = upload_evidence(programme.app, as_(programme, VISITOR), programme.exchange_ref, "b.png", "other", PNG)
    assert again.already_stored and again.filename == "a.png" and rows(programme) == 1
    assert [f.sha256 for f in list_evidence(programme.app, as_(programme, OFFICER), programme.exchange_ref)] == [
        hashlib.sha256(PNG).hexdigest()]


@pytest.mark.parametrize(("data", "kind", "error", "named"), [
    (b"just text, named .pdf", "ticket", WrongType, "not a PDF, PNG or JPEG"),
    (b"%PDF-" + b"0" * (20 * 1024 * 1024), "ticket", TooLarge, "above the limit"),
    (PDF, "selfie", Invalid, "kind"),
    (b"", "ticket", Invalid, "file: is empty"),
])
def test_a_wrong_upload_is_refused_naming_what_is_wrong_and_nothing_is_kept(
        programme: Programme, data: bytes, kind: str, error: type, named: str) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    with pytest.raises(error, match=named):
        upload_evidence(programme.app, as_(programme, VISITOR), programme.exchange_ref, "ticket.pdf", kind, data)
    assert rows(programme) == 0 and not (programme.app.settings.files_dir / "evidence").exists()


def test_an_outsider_does_not_see_the_exchange_and_an_auditor_is_refused_and_audited(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    with pytest.raises(NotFound, match="does not exist"):
        upload_evidence(programme.app, as_(programme, OUTSIDER), programme.exchange_ref, "x.pdf", "other", PDF)
    with pytest.raises(Refused, match="may not upload evidence"):
        upload_evidence(programme.app, as_(programme, SOUTH_OFFICER), programme.exchange_ref, "x.pdf", "other", PDF)
    assert programme.events("access_refused")[-1].actor == SOUTH_OFFICER
    assert rows(programme) == 0
    upload_evidence(programme.app, as_(programme, ADMIN), programme.exchange_ref, "x.pdf", "other", PDF)


def test_no_evidence_before_the_exchange_is_matched(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    with pytest.raises(Conflict, match="once it is matched"):
        upload_evidence(programme.app, as_(programme, VISITOR), programme.exchange_ref, "x.pdf", "other", PDF)
