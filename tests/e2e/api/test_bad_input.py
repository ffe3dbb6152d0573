"""Bad input over HTTP (SPEC §12): 413 for an oversize upload (refused from its Content-Length, before
reading), 415 for a wrong file type, 422 with `detail` as `[{loc, msg}]` naming each field and nothing
written, and never a 500 — malformed JSON, the wrong JSON shape, huge numbers, unicode junk."""
from __future__ import annotations

from typing import Any

import pytest

from tasks.forms import MAX_UPLOAD_BYTES
from tests.e2e.api.conftest import World

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _evidence_events(world: World, before: int) -> list[Any]:
    return world.events("evidence_uploaded", after_id=before)


def test_an_upload_declaring_more_than_20_mb_is_413_before_its_body_is_read(client: Any, world: World) -> None:
    before = world.last_event_id()
    read: list[int] = []

    def body():  # a stream that records what was taken from it
        for _ in range(4):
            read.append(1)
            yield b"x" * 1024

    answer = client.post(f"/api/exchanges/{world.exchange_ref}/evidence", content=body(),
                         headers={**world.headers("applicant"), "Content-Length": str(MAX_UPLOAD_BYTES + 1024 * 1024),
                                  "Content-Type": "multipart/form-data; boundary=x"})

    assert answer.status_code == 413, answer.text
    assert "20 MB" in answer.json()["detail"]
    assert len(read) <= 1  # at most the first chunk the client pushed
    assert _evidence_events(world, before) == []


def test_a_real_file_above_20_mb_is_413_and_nothing_is_kept(client: Any, world: World) -> None:
    before = world.last_event_id()
    big = PDF + b"0" * (MAX_UPLOAD_BYTES + 1 - len(PDF))
    answer = client.post(f"/api/exchanges/{world.exchange_ref}/evidence", headers=world.headers("applicant"),
                         files={"file": ("big.pdf", big, "application/pdf")}, data={"kind": "other"})
    assert answer.status_code == 413, answer.text
    assert _evidence_events(world, before) == []


def test_a_text_file_named_pdf_is_415_and_nothing_is_kept(client: Any, world: World) -> None:
    before = world.last_event_id()
    kept_before = client.get(f"/api/exchanges/{world.exchange_ref}/evidence", headers=world.headers("applicant")).json()
    answer = client.post(f"/api/exchanges/{world.exchange_ref}/evidence", headers=world.headers("applicant"),
                         files={"file": ("attendance.pdf", b"just some text, honest\n", "application/pdf")},
                         data={"kind": "attendance_certificate"})
    assert answer.status_code == 415, answer.text
    assert "not a PDF, PNG or JPEG" in answer.json()["detail"]
    assert _evidence_events(world, before) == []
    listed = client.get(f"/api/exchanges/{world.exchange_ref}/evidence", headers=world.headers("applicant")).json()
    assert listed == kept_before  # the files the world's closing report cites, and nothing more


def test_a_bank_file_that_is_not_xml_is_415(client: Any, world: World) -> None:
    answer = client.post("/api/payments/bank-files", headers=world.headers("finance"),
                         files={"file": ("status.xml", b"%PDF-1.4 not xml", "application/xml")})
    assert answer.status_code == 415, answer.text


def _assert_field_errors(answer: Any, expected_locs: set[tuple[Any, ...]]) -> None:
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, list) and all(isinstance(e["msg"], str) and e["msg"] for e in detail)
    assert {tuple(e["loc"]) for e in detail} == expected_locs


def test_invalid_form_data_is_422_naming_each_field_and_nothing_is_written(client: Any, world: World) -> None:
    before = world.last_event_id()
    answer = client.post(f"/api/tasks/{world.task_id}/complete", headers=world.headers("officer"),
                         json={"decision": "perhaps", "comment": ["not", "text"]})

    _assert_field_errors(answer, {("body", "decision"), ("body", "comment")})
    assert world.task().status == "open" and world.task().completed_by is None
    assert world.events("task_completed", "task_refused", after_id=before) == []


@pytest.mark.parametrize(("query", "loc"), [("sort=sideways", ("query", "sort")), ("page=0", ("query", "page")),
                                            ("page_size=100000", ("query", "page_size")),
                                            ("status=everything", ("query", "status")),
                                            ("due_before=yesterday", ("query", "due_before")),
                                            ("role=king", ("query", "role"))])
def test_a_bad_query_parameter_is_422_naming_it(client: Any, world: World, query: str, loc: tuple[str, ...]) -> None:
    _assert_field_errors(client.get(f"/api/tasks?{query}", headers=world.headers("officer")), {loc})


def test_two_bad_query_parameters_are_both_named(client: Any, world: World) -> None:
    _assert_field_errors(client.get("/api/tasks?sort=sideways&page=-1", headers=world.headers("officer")),
                         {("query", "sort"), ("query", "page")})


JSON = {"Content-Type": "application/json"}
BODIES = ["{not json", "[1, 2, 3]", '"a string"', "null", "1e999999", '{"decision": "accept"', "\x00\x01",
          '{"decision": "' + "\U0001F4A9" * 10_000 + '"}', '{"comment": ' + "9" * 5000 + "}",
          '{"decision": {"$gt": ""}}', "{}" * 1000]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_a_malformed_or_misshapen_json_body_is_a_4xx_never_a_500(client: Any, world: World, body: str) -> None:
    before = world.last_event_id()
    answer = client.post(f"/api/tasks/{world.task_id}/complete", content=body.encode("utf-8", "surrogatepass"),
                         headers={**world.headers("officer"), **JSON})
    assert answer.status_code == 422, answer.text[:300]
    assert all("loc" in e and "msg" in e for e in answer.json()["detail"])
    assert world.task().status == "open" and world.events("task_completed", after_id=before) == []


def test_a_reassign_body_of_the_wrong_shape_is_422(client: Any, world: World) -> None:
    for body in ([{"to": "x"}], {"to": ""}, {"to": 5}, {}):
        answer = client.post(f"/api/tasks/{world.task_id}/reassign", json=body, headers=world.headers("officer"))
        assert answer.status_code == 422, (body, answer.text)


HUGE = "9" * 40
JUNK = ["%F0%9F%92%A9", "%00", "%C3%A9l%C3%A8ve", "..%2F..%2Fetc%2Fpasswd", "%E2%80%AE" * 30, "x" * 5000,
        HUGE, "-1", "1e9", "%ED%A0%80", "%FF%FE"]
PATHS = ["/api/tasks/{}", "/api/tasks/{}/claim", "/api/tasks/{}/complete", "/api/instances/{}",
         "/api/instances/{}/diagram", "/api/exchanges/{}", "/api/exchanges/{}/evidence",
         "/api/payments/batches/{}", "/api/payments/batches/{}/file", "/api/payments/batches/{}/release",
         "/api/audit/exchanges/{}/file"]


@pytest.mark.parametrize("path", PATHS)
def test_junk_in_a_path_parameter_is_a_4xx_never_a_500(client: Any, world: World, path: str) -> None:
    for junk in JUNK:
        method = "POST" if path.endswith(("/claim", "/complete", "/release")) else "GET"
        answer = client.request(method, path.format(junk), headers=world.headers("admin"),
                                **({"json": {}} if path.endswith("/complete") else {}))
        assert 400 <= answer.status_code < 500, (junk, answer.status_code, answer.text[:200])


@pytest.mark.parametrize("query", [f"page={HUGE}", f"page_size={HUGE}", "q=%00", "q=%F0%9F%92%A9" * 50,
                                   "status=%00", "country=%00%00", f"q={'x' * 201}", "page=1.5"])
def test_junk_in_a_search_is_a_4xx_or_an_answer_never_a_500(client: Any, world: World, query: str) -> None:
    for path in ("/api/exchanges", "/api/tasks"):
        answer = client.get(f"{path}?{query}", headers=world.headers("officer"))
        assert answer.status_code in (200, 422), (path, query, answer.text[:200])


@pytest.mark.parametrize("query", [f"size={HUGE}", f"seed={HUGE}", "size=-1", "period=2027-13", "period=%00",
                                   "period=abcdefg", "partnership=%00"])
def test_junk_in_audit_and_report_parameters_is_a_4xx_never_a_500(client: Any, world: World, query: str) -> None:
    for path in ("/api/audit/sample", "/api/reports/kpi"):
        answer = client.get(f"{path}?{query}", headers=world.headers("admin"))
        assert answer.status_code in (200, 404, 422), (path, query, answer.text[:200])
