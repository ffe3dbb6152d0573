"""Malformed or oversized forms to the public pages (sign-in, sign-out) get a 4xx with a sentence,
never a 500: a 2 MB field, 1,100 fields, multipart without a boundary (issue 18)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from workflows.app import App
from workflows.services.setup import init_database
from workflows.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from workflows.web.app import create_app

    folder = tmp_path_factory.mktemp("forms")
    application = App(Settings(database_url=f"sqlite:///{folder}/cxp.db", files_dir=folder / "files"))
    init_database(application)
    try:
        yield TestClient(create_app(application=application), raise_server_exceptions=False)
    finally:
        application.close()


def _token(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert found
    return found.group(1)


def _many_fields(token: str) -> str:
    return "&".join(f"field{i}=1" for i in range(1100)) + f"&csrf_token={token}"


def _multipart_many_fields(token: str) -> bytes:
    parts = [f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n' for i in range(1100)]
    return ("".join(parts) + f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--b--\r\n').encode()


CASES: dict[str, tuple[int, str, Any]] = {
    # name: (status, words in the answer, request keyword arguments from the session's token)
    "a 2 MB field": (413, "larger than 64 KB, the limit of a sign-in form",
                     lambda t: {"data": {"csrf_token": t, "username": "x" * 2_000_000, "password": "p"}}),
    "a 2 MB multipart field": (413, "larger than 64 KB, the limit of a sign-in form",
                               lambda t: {"data": {"csrf_token": t, "username": "x" * 2_000_000},
                                          "files": {"f": ("a.txt", b"x", "text/plain")}}),
    "1,100 fields": (400, "Too many fields",
                     lambda t: {"content": _many_fields(t),
                                "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    "1,100 multipart fields": (400, "Too many fields",
                               lambda t: {"content": _multipart_many_fields(t),
                                          "headers": {"content-type": "multipart/form-data; boundary=b"}}),
    "multipart without a boundary": (400, "Missing boundary",
                                     lambda t: {"content": b"--x\r\n\r\n", "headers": {"content-type": "multipart/form-data"}}),
}


@pytest.mark.parametrize("path", ["/login", "/logout"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_form_to_a_public_page_is_a_4xx_with_a_sentence(client: TestClient, path: str, case: str) -> None:
    status, words, request = CASES[case]
    answer = client.post(path, follow_redirects=False, **request(_token(client)))
    assert answer.status_code == status, answer.text[:300]
    assert words in answer.text and answer.text.rstrip().endswith(".")
    assert "Traceback" not in answer.text and "Internal Server Error" not in answer.text


def test_a_form_with_its_token_still_signs_out(client: TestClient) -> None:
    answer = client.post("/logout", data={"csrf_token": _token(client)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
