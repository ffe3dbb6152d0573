"""The API open to the public, hardened (issue 18), on SQLite and PostgreSQL:

- concurrent uploads: the same file sent at the same moment is stored once and answered once as
  created (201), then as already there (200, the same body shape), never a 500; ten different files
  at once are all stored (201) — on SQLite each waits its turn for the write lock, none is refused as
  "busy" — through a real server on loopback;
- `Cache-Control: no-store` on every answer of the API, errors and downloads included;
- no absolute path of the server in any answer (file names instead), a verification's problem too;
- checking the audit trail twice in a row adds at most one event (an anchor at most once an interval);
- a malformed multipart upload (no boundary, 1,100 fields, a 2 MB field) is a 422 with a sentence.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.e2e.api.conftest import World
from tests.serving import served
from workflows.db.models import EvidenceFile
from workflows.services.evidence_store import TEMPORARY_PREFIX, evidence_path

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    from workflows.web.app import create_app

    with served(create_app(application=world.app)) as port:
        yield f"http://127.0.0.1:{port}"


def _at_once(count: int, send: Any) -> list[httpx.Response]:
    """`send(i)` from `count` threads released together; the answers in order of i."""
    start = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def run(i: int) -> None:
        start.wait(timeout=60)
        answers[i] = send(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def _upload(base_url: str, world: World, content: bytes, name: str) -> httpx.Response:
    return httpx.post(f"{base_url}/api/exchanges/{world.exchange_ref}/evidence", headers=world.headers("applicant"),
                      files={"file": (name, content, "application/pdf")}, data={"kind": "ticket"}, timeout=60)


def _rows(world: World, sha256: str) -> int:
    with world.app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(EvidenceFile).where(EvidenceFile.sha256 == sha256))


def _temporaries(world: World) -> list[Path]:
    root = Path(world.app.settings.files_dir) / "evidence"
    return [p for p in root.rglob("*") if p.name.startswith(TEMPORARY_PREFIX) or p.name.endswith(".partial")]


def test_the_same_file_uploaded_at_once_is_stored_once_created_then_already_there(base_url: str, world: World) -> None:
    content = PDF + b"% the same ticket, sent from eight tabs at once\n"
    before = world.last_event_id()
    answers = _at_once(8, lambda i: _upload(base_url, world, content, f"ticket-{i}.pdf"))

    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [(a.status_code, a.text) for a in answers]
    bodies = [a.json() for a in answers]
    assert len({frozenset(b) for b in bodies}) == 1  # the same shape
    created = next(b for a, b in zip(answers, bodies, strict=True) if a.status_code == 201)
    assert created["already_stored"] is False
    assert all(b["already_stored"] and b["sha256"] == created["sha256"] and b["filename"] == created["filename"]
               for a, b in zip(answers, bodies, strict=True) if a.status_code == 200)
    assert _rows(world, created["sha256"]) == 1
    assert len(world.events("evidence_uploaded", after_id=before)) == 1
    assert evidence_path(world.app, created["sha256"]).read_bytes() == content
    assert _temporaries(world) == []


def test_ten_different_files_uploaded_at_once_are_all_stored(base_url: str, world: World) -> None:
    before = world.last_event_id()
    contents = [PDF + f"% boarding pass {i} of ten\n".encode() for i in range(10)]
    answers = _at_once(10, lambda i: _upload(base_url, world, contents[i], f"pass-{i}.pdf"))

    assert [a.status_code for a in answers] == [201] * 10, [(a.status_code, a.text) for a in answers]
    assert len(world.events("evidence_uploaded", after_id=before)) == 10
    for answer, content in zip(answers, contents, strict=True):
        assert evidence_path(world.app, answer.json()["sha256"]).read_bytes() == content
    assert _temporaries(world) == []


def test_the_same_file_again_is_200_with_the_body_of_the_first(client: Any, world: World) -> None:
    content = PDF + b"% uploaded twice, one after the other\n"
    url, headers = f"/api/exchanges/{world.exchange_ref}/evidence", world.headers("applicant")
    first = client.post(url, headers=headers, files={"file": ("a.pdf", content, "application/pdf")}, data={"kind": "other"})
    again = client.post(url, headers=headers, files={"file": ("b.pdf", content, "application/pdf")}, data={"kind": "other"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert {**again.json(), "already_stored": False} == first.json()


# --- what every answer carries, and does not ------------------------------------------------------

def _api_answers(client: Any, world: World) -> dict[str, Any]:
    """An answer of every kind the API gives: reads, downloads, errors, a release and a bank file."""
    who, ref, batch = world.headers, world.exchange_ref, world.batch
    gets = {
        "health": ("/api/health", "anonymous"), "me": ("/api/auth/me", "officer"),
        "inbox": ("/api/tasks", "officer"), "task": (f"/api/tasks/{world.task_id}", "officer"),
        "instance": (f"/api/instances/{world.instance_id}", "officer"),
        "diagram": (f"/api/instances/{world.instance_id}/diagram", "officer"),
        "exchanges": ("/api/exchanges", "officer"), "exchange": (f"/api/exchanges/{ref}", "officer"),
        "evidence": (f"/api/exchanges/{ref}/evidence", "officer"),
        "batches": ("/api/payments/batches", "finance"), "batch": (f"/api/payments/batches/{batch}", "finance"),
        "pain001": (f"/api/payments/batches/{batch}/file", "finance"),
        "csv": (f"/api/payments/batches/{batch}/csv", "finance"),
        "verify": ("/api/audit/verify", "auditor"), "sample": ("/api/audit/sample", "auditor"),
        "audit_file": (f"/api/audit/exchanges/{ref}/file", "auditor"), "kpi": ("/api/reports/kpi", "officer"),
        "unauthenticated": ("/api/tasks", "anonymous"), "not_found": ("/api/tasks/999999", "officer"),
        "refused": ("/api/audit/verify", "applicant"),
    }
    found = {name: client.get(path, headers=who(person)) for name, (path, person) in gets.items()}
    found["release"] = client.post(f"/api/payments/batches/{batch}/release", headers=who("finance"))
    pain001 = found["pain001"].content
    found["bank_file"] = client.post("/api/payments/bank-files", headers=who("finance"),
                                     files={"file": ("status.xml", pain001, "application/xml")})
    found["token"] = client.post("/api/auth/token", data={"username": "nobody", "password": "wrong"})
    return found


@pytest.fixture(scope="module")
def answers(client: Any, world: World) -> dict[str, Any]:
    return _api_answers(client, world)


def test_every_api_answer_is_not_to_be_stored_by_caches(answers: dict[str, Any]) -> None:
    assert {name: a.headers.get("cache-control") for name, a in answers.items()} == {
        name: "no-store" for name in answers}
    assert answers["release"].status_code == 200 and answers["pain001"].status_code == 200


def test_no_api_answer_carries_a_path_of_the_server(answers: dict[str, Any], world: World) -> None:
    folders = {str(Path(world.app.settings.files_dir)), str(Path(world.app.settings.files_dir).resolve())}
    for name, answer in answers.items():
        if answer.headers.get("content-type", "").startswith(("application/zip", "application/xml", "text/csv")):
            continue  # the files themselves
        assert not any(folder in answer.text for folder in folders), (name, answer.text[:500])
    released = answers["release"].json()
    assert released["file"] == f"{world.batch}.xml"
    batches = {b["batch"]: b for b in answers["batches"].json()}
    assert batches[world.batch]["files"] == [f"{world.batch}.xml", f"{world.batch}.csv"]


def test_checking_the_audit_trail_twice_in_a_row_adds_at_most_one_event(client: Any, world: World) -> None:
    before = world.last_event_id()
    for _ in range(2):
        answer = client.get("/api/audit/verify", headers=world.headers("auditor"))
        assert answer.status_code == 200 and answer.json()["ok"] is True, answer.text
    assert len(world.events("audit_anchored", after_id=before)) <= 1
    assert world.last_event_id() - before <= 1


@pytest.mark.parametrize(("headers", "content"), [
    ({"content-type": "multipart/form-data"}, b"--x\r\n\r\n"),
    ({"content-type": "multipart/form-data; boundary=b"},
     "".join(f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n' for i in range(1100)).encode() + b"--b--\r\n"),
    ({"content-type": "multipart/form-data; boundary=b"},
     b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\n' + b"x" * (2 * 1024 * 1024) + b"\r\n--b--\r\n"),
], ids=["no boundary", "1,100 fields", "a 2 MB field"])
def test_a_malformed_upload_is_a_4xx_with_a_sentence(client: Any, world: World, headers: dict[str, str],
                                                     content: bytes) -> None:
    answer = client.post(f"/api/exchanges/{world.exchange_ref}/evidence",
                         headers={**world.headers("applicant"), **headers}, content=content)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["detail"][0]["msg"].endswith("the request body could not be read as JSON or as a form")


def test_a_changed_anchor_is_named_without_the_server_s_folders(client: Any, world: World) -> None:
    """Last in this module: it changes the anchor file (and puts it back)."""
    anchors = world.app.settings.anchor_path
    assert client.get("/api/audit/verify", headers=world.headers("auditor")).json()["ok"] is True
    kept = anchors.read_bytes()
    try:
        anchors.write_bytes(kept.replace(b'"reason":"', b'"reason":"forged ', 1))  # the first line
        answer = client.get("/api/audit/verify", headers=world.headers("auditor")).json()
    finally:
        anchors.write_bytes(kept)
    assert answer["ok"] is False
    assert answer["problem"] == "anchor line 1 of the anchor file anchors.jsonl was changed (its MAC does not match)"
