"""Every request body is bounded while it streams (workflows/web/limits.py), and read only after the
checks that can be made without it (workflows/web/gate.py, the CSRF middleware).

A chunked body declares no size: these tests send one far above its route's limit and assert on the
bytes the application took from the server — nothing at all when the request is answered before its
body (no session, no bearer token, a CSRF header that does not match), at most the limit and the one
message that crossed it otherwise — both by calling the ASGI application directly and through a real
uvicorn server on loopback. No timing or memory figure is asserted: benchmarks/body_limits.py
measures the server's peak memory."""
from __future__ import annotations

import asyncio
import json
import re
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.serving import served
from tests.workflows.builders import OFFICER, VISITOR, Programme, build_programme
from workflows.app import App
from workflows.services import access, accounts
from workflows.services.setup import init_database
from workflows.services.tokens import issue_token
from workflows.settings import Settings
from workflows.web.limits import FORM_LIMIT, SIGN_IN_LIMIT, UPLOAD_LIMIT
from workflows.web.security import CSRF_REFUSAL

PASSWORD = "password123"
CHUNK = 64 * 1024
BIG = 8 * 1024 * 1024  # above every limit but the uploads'


@dataclass
class World:
    app: App
    prog: Programme
    task_id: int
    officer_cookie: str
    officer_csrf: str
    anonymous_cookie: str  # a session that visited the sign-in form: it has a CSRF token, no user
    anonymous_csrf: str
    bearer: str
    web: Any = None


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from workflows.web.app import create_app

    folder = tmp_path_factory.mktemp("limits")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CXP_FILES_DIR", str(folder / "files"))
        application = App(Settings(database_url=f"sqlite:///{folder}/cxp.db", files_dir=folder / "files"))
        init_database(application)
        prog = build_programme(application)
        prog.submit_visitor_application()
        for user in (OFFICER, VISITOR):
            accounts.set_password(application, access.SYSTEM, user, PASSWORD)
        web = create_app(application=application)
        anonymous = TestClient(web)
        anonymous_csrf = _csrf(anonymous.get("/").text)
        officer = TestClient(web)
        answer = officer.post("/login", data={"username": OFFICER, "password": PASSWORD, "next": "/tasks",
                                              "csrf_token": _csrf(officer.get("/").text)}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        task_id = prog.open_task("assess_application").id
        officer_csrf = _csrf(officer.get("/tasks").text)  # the session's token, kept in its cookie
        found = World(application, prog, task_id, officer.cookies["cxp_session"], officer_csrf,
                      anonymous.cookies["cxp_session"], anonymous_csrf,
                      issue_token(application, access.SYSTEM, OFFICER, name="limits").token, web)
        try:
            yield found
        finally:
            application.close()


# --- the ASGI application, called directly -------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    consumed: int  # bytes of the request body the application took
    largest: int   # the largest message it took (what may cross the limit)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def call(web: Any, path: str, headers: dict[str, str], total: int, first: bytes = b"") -> Answer:
    """POST a chunked body of `first` and then `total` bytes of filler, in messages of CHUNK bytes,
    to the ASGI application; what it answered and how much of the body it read."""
    consumed = largest = 0
    status, answer_headers, parts = 0, {}, []
    pending = [first] if first else []

    async def receive() -> dict[str, Any]:
        nonlocal consumed, largest, total
        if not pending and total <= 0:
            return {"type": "http.disconnect"}
        if pending:
            body = pending.pop()
        else:
            body, total = b"a" * min(CHUNK, total), total - CHUNK
        consumed, largest = consumed + len(body), max(largest, len(body))
        return {"type": "http.request", "body": body, "more_body": bool(pending) or total > 0}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answer_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            answer_headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    asyncio.run(web(scope, receive, send))
    return Answer(status, answer_headers, b"".join(parts), consumed, largest)


FORM = {"content-type": "application/x-www-form-urlencoded"}


def _cookie(value: str) -> dict[str, str]:
    return {"cookie": f"cxp_session={value}"}


def test_an_anonymous_chunked_post_to_a_page_is_sent_to_sign_in_before_a_byte_of_it_is_read(world: World) -> None:
    answer = call(world.web, f"/tasks/{world.task_id}/claim", FORM, BIG)
    assert answer.status == 303 and answer.headers["location"].startswith("/?next=")
    assert answer.consumed == 0


def test_a_session_without_a_user_is_sent_to_sign_in_before_its_body_even_with_the_csrf_token(world: World) -> None:
    answer = call(world.web, f"/tasks/{world.task_id}/claim", {**FORM, **_cookie(world.anonymous_cookie)}, BIG,
                  first=f"csrf_token={world.anonymous_csrf}&next=".encode())
    assert answer.status == 303 and answer.consumed == 0


def test_a_csrf_header_that_does_not_match_is_refused_before_the_body(world: World) -> None:
    answer = call(world.web, f"/tasks/{world.task_id}", {**FORM, **_cookie(world.officer_cookie),
                                                         "x-csrf-token": "forged"}, BIG)
    assert answer.status == 403 and answer.text == CSRF_REFUSAL
    assert answer.consumed == 0


def test_a_signed_in_form_above_1_mb_is_413_once_the_limit_is_read(world: World) -> None:
    answer = call(world.web, f"/tasks/{world.task_id}/claim", {**FORM, **_cookie(world.officer_cookie)}, BIG,
                  first=f"csrf_token={world.officer_csrf}&next=".encode())
    assert answer.status == 413, answer.text
    assert "larger than 1 MB, the limit of a form or JSON body" in answer.text
    assert answer.headers["connection"] == "close"
    assert answer.consumed <= FORM_LIMIT + answer.largest


def test_an_htmx_post_above_1_mb_read_by_the_route_is_a_413_page(world: World) -> None:
    answer = call(world.web, f"/tasks/{world.task_id}", {**FORM, **_cookie(world.officer_cookie),
                                                         "x-csrf-token": world.officer_csrf}, BIG)
    assert answer.status == 413 and answer.headers["content-type"].startswith("text/html")
    assert "larger than 1 MB" in answer.text and answer.headers["connection"] == "close"
    assert answer.consumed <= FORM_LIMIT + answer.largest


def test_a_sign_in_form_above_64_kb_is_413(world: World) -> None:
    answer = call(world.web, "/login", {**FORM, **_cookie(world.anonymous_cookie)}, BIG,
                  first=f"csrf_token={world.anonymous_csrf}&username=".encode())
    assert answer.status == 413 and "larger than 64 KB, the limit of a sign-in form" in answer.text
    assert answer.consumed <= SIGN_IN_LIMIT + answer.largest


def test_an_api_call_without_a_bearer_token_is_401_before_its_body(world: World) -> None:
    answer = call(world.web, f"/api/tasks/{world.task_id}/complete", {"content-type": "application/json"}, BIG)
    assert answer.status == 401 and "Bearer" in json.loads(answer.body)["detail"]
    assert answer.consumed == 0


def test_an_api_json_body_above_1_mb_is_413_with_the_limit_in_words(world: World) -> None:
    answer = call(world.web, f"/api/tasks/{world.task_id}/complete",
                  {"content-type": "application/json", "authorization": f"Bearer {world.bearer}"}, BIG,
                  first=b'{"comment": "')
    assert answer.status == 413
    assert json.loads(answer.body)["detail"] == ("the request body is larger than 1 MB, the limit of a form or "
                                                 "JSON body (1,048,576 bytes)")
    assert answer.consumed <= FORM_LIMIT + answer.largest


def test_an_upload_is_bounded_by_its_own_limit_while_it_streams(world: World) -> None:
    answer = call(world.web, f"/api/exchanges/{world.prog.exchange_ref}/evidence",
                  {"content-type": "multipart/form-data; boundary=x", "authorization": f"Bearer {world.bearer}"},
                  UPLOAD_LIMIT + 4 * 1024 * 1024, first=b'--x\r\nContent-Disposition: form-data; name="file"; '
                                                        b'filename="a.pdf"\r\n\r\n%PDF-1.4\n')
    assert answer.status == 413 and "20 MB" in json.loads(answer.body)["detail"]
    assert FORM_LIMIT < answer.consumed <= UPLOAD_LIMIT + answer.largest


def test_a_declared_length_above_the_route_limit_is_413_before_the_body(world: World) -> None:
    answer = call(world.web, f"/api/tasks/{world.task_id}/complete",
                  {"content-type": "application/json", "authorization": f"Bearer {world.bearer}",
                   "content-length": str(FORM_LIMIT + 1)}, BIG)
    assert answer.status == 413 and answer.consumed == 0
    assert json.loads(answer.body)["detail"].startswith("the request is 1,048,577 bytes, larger than 1 MB")


def test_every_route_taking_a_body_needs_a_principal_but_signing_in_and_out_and_registering() -> None:
    """The public surface that reads a body from anyone, as the gate sees it (a new public route
    changes this list on purpose)."""
    from workflows.web.api import routes
    from workflows.web.gate import SignInGate
    from workflows.web.pages import routes as page_routes

    gate = SignInGate(lambda *_: None, [("/api", r) for router in routes() for r in router.routes]
                      + [("", r) for router in page_routes() for r in router.routes])
    unsafe = [(prefix + pattern.pattern, need) for prefix, pattern, methods, need in gate.rules
              if methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert len(unsafe) > 15
    assert sorted(path for path, need in unsafe if need is None) == [
        "/api^/auth/token$", "/api^/registrations$", "/api^/registrations/verify$", "^/login$", "^/logout$",
        "^/register$"]
    assert {need for path, need in unsafe if path.startswith("/api")} == {"bearer", None}
    assert {need for path, need in unsafe if not path.startswith("/api")} == {"session", None}


# --- a real uvicorn server on loopback -----------------------------------------------------------

@dataclass
class Counted:
    """The application, counting the body bytes uvicorn hands it (what the server read for it)."""

    web: Any
    consumed: list[int] = field(default_factory=list)
    largest: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.web(scope, receive, send)
            return
        index = len(self.consumed)
        self.consumed.append(0)

        async def counting() -> dict[str, Any]:
            message = await receive()
            size = len(message.get("body", b""))
            self.consumed[index] += size
            self.largest = max(self.largest, size)
            return message

        await self.web(scope, counting, send)


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[tuple[int, Counted]]:
    """uvicorn serving the counted application on loopback (tests/serving.py)."""
    counted = Counted(world.web)
    with served(counted) as port:
        yield port, counted


def chunked_post(port: int, path: str, headers: dict[str, str], total: int, first: bytes = b"") -> tuple[int, int]:
    """POST `first` then up to `total` bytes chunked; stop sending once the server answers (or closes).
    (the answer's status, the bytes this client sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sent = 0
    frame = f"{CHUNK:x}\r\n".encode() + b"a" * CHUNK + b"\r\n"
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n{head}\r\n".encode())
        if first:
            sock.sendall(f"{len(first):x}\r\n".encode() + first + b"\r\n")
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(frame)
                sent += CHUNK
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: its answer is read below
        answer = b""
        try:
            while b"\r\n" not in answer:
                piece = sock.recv(4096)
                if not piece:
                    break
                answer += piece
        except ConnectionResetError:
            pass
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 "), (answer, sent)
    return int(answer.split()[1]), sent


def test_two_anonymous_chunked_posts_to_a_real_server_are_answered_before_their_bodies_are_read(
        world: World, server: tuple[int, Counted]) -> None:
    port, counted = server
    before = len(counted.consumed)
    results: list[tuple[int, int]] = []

    def post() -> None:
        results.append(chunked_post(port, f"/tasks/{world.task_id}/claim", FORM, 64 * 1024 * 1024))

    posts = [threading.Thread(target=post) for _ in range(2)]
    for thread in posts:
        thread.start()
    for thread in posts:
        thread.join(timeout=120)
    assert [status for status, _ in results] == [303, 303]
    assert counted.consumed[before:] == [0, 0]
    assert all(sent < 64 * 1024 * 1024 for _, sent in results)  # answered while the client was still sending


def test_a_signed_in_chunked_form_above_its_limit_is_413_from_a_real_server(
        world: World, server: tuple[int, Counted]) -> None:
    port, counted = server
    before = len(counted.consumed)
    status, sent = chunked_post(port, f"/tasks/{world.task_id}/claim", {**FORM, **_cookie(world.officer_cookie)},
                                64 * 1024 * 1024, first=f"csrf_token={world.officer_csrf}&next=".encode())
    assert status == 413
    assert FORM_LIMIT < counted.consumed[before] <= FORM_LIMIT + counted.largest
    assert sent < 64 * 1024 * 1024
