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


# --- when evidence no longer matters, and what an upload leaves on disk -----------------------------

def test_no_evidence_once_the_exchange_was_closed_without_a_grant(programme: Programme) -> None:  # noqa: F811
    from datetime import timedelta

    from tests.workflows.builders import ARRIVAL, accept_evidence, evidence

    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence([ARRIVAL + timedelta(days=1), ARRIVAL + timedelta(days=2)]))
    programme.complete("validate_evidence", OFFICER, accept_evidence())  # two working days: no grant
    assert programme.instance().status == "completed" and programme.open_specs() == []
    cited = rows(programme)  # the two files the closing report cites
    with pytest.raises(Conflict, match=r"was closed without a grant: its evidence is no longer accepted"):
        upload_evidence(programme.app, as_(programme, VISITOR), programme.exchange_ref, "late.pdf", "other", PDF)
    assert cited == 2 and rows(programme) == cited


def _files(programme: Programme) -> list[str]:  # noqa: F811
    root = programme.app.settings.files_dir / "evidence"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_upload_leaves_its_file_under_its_hash_and_no_temporary_file(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    out = upload_evidence(programme.app, as_(programme, VISITOR), programme.exchange_ref, "a.pdf", "other", PDF)
    again = upload_evidence(programme.app, as_(programme, HOST), programme.exchange_ref, "b.pdf", "other", PDF)
    assert (out.already_stored, again.already_stored) == (False, True)
    assert _files(programme) == [out.sha256]


def test_a_refused_upload_writes_nothing(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    with pytest.raises(Refused):
        upload_evidence(programme.app, as_(programme, SOUTH_OFFICER), programme.exchange_ref, "x.pdf", "other", PDF)
    assert _files(programme) == []


def test_the_sweep_removes_what_killed_uploads_left_and_keeps_every_recorded_file(programme: Programme) -> None:  # noqa: F811
    import os
    import time

    from workflows.services.evidence_store import link, sweep_evidence, write_temporary

    programme.submit_visitor_application().assessed().matched()
    kept = upload_evidence(programme.app, as_(programme, VISITOR), programme.exchange_ref, "a.pdf", "other", PDF)
    app = programme.app
    stale_temporary = write_temporary(evidence_path(app, "ab" * 32), b"killed before its transaction")
    orphan = b"%PDF-1.4 killed between linking and committing"
    orphan_path = evidence_path(app, hashlib.sha256(orphan).hexdigest())
    link(write_temporary(orphan_path, orphan), orphan_path)
    fresh = b"%PDF-1.4 an upload under way"
    fresh_path = evidence_path(app, hashlib.sha256(fresh).hexdigest())
    fresh_temporary = write_temporary(fresh_path, fresh)
    link(fresh_temporary, fresh_path)
    orphan_temporary = next(p for p in orphan_path.parent.iterdir() if p.name.startswith(".upload-"))
    two_hours_ago = time.time() - 7200
    for path in (stale_temporary, orphan_path, orphan_temporary, evidence_path(app, kept.sha256)):
        os.utime(path, (two_hours_ago, two_hours_ago))

    swept = sweep_evidence(app)

    assert (swept.temporaries, swept.orphans) == (2, 1)
    assert not stale_temporary.exists() and not orphan_path.exists() and not orphan_temporary.exists()
    assert evidence_path(app, kept.sha256).read_bytes() == PDF  # recorded: kept however old
    assert fresh_path.exists() and fresh_temporary.exists()  # younger than the grace period: under way
    assert sweep_evidence(app).model_dump() == {"temporaries": 0, "orphans": 0}


def test_the_outbox_job_sweeps_the_evidence_store(app) -> None:  # noqa: ANN001 - the conftest's fixture
    import os
    import time

    from workflows.flows.jobs import run_job
    from workflows.services.evidence_store import write_temporary

    left = write_temporary(evidence_path(app, "cd" * 32), b"killed before its transaction")
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    assert run_job("outbox", app)["swept_evidence"] == {"temporaries": 1, "orphans": 0}
    assert not left.exists()
