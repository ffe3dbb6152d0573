"""Sessions that end, through the web workspace's cookies (issue 18, point 3), and sign-in answers
that do not tell a real account from a made-up one (point 2), on SQLite and PostgreSQL.

A cookie saved before logout — or before a password change, disabling, or the end of all the user's
sessions (by themself, by an administrator on /admin, through the API) — opens nothing any more: the
inbox sends it to sign in. A session ends 8 hours after sign-in however busy, and after 60 minutes
unused; the wall clock (`App.wall_clock`) is moved by hand, no sleeps."""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.wall_clock import WallClock
from workflows.app import App
from workflows.services.access import SYSTEM
from workflows.services.accounts import add_user, disable_user, issue_token, set_password

PASSWORD = "password123"
USERS = {"ann": "auditor", "bob": "auditor", "admin": "administrator"}


@pytest.fixture
def web(app: App) -> Iterator[TestClient]:
    from workflows.web.app import create_app

    app.wall_clock = WallClock()
    for username, role in USERS.items():
        add_user(app, SYSTEM, username, username.title(), f"{username}@cx.local", role, password=PASSWORD)
    with TestClient(create_app(application=app)) as client:
        yield client


def clock(web: TestClient) -> WallClock:
    return web.app.state.cxp.wall_clock  # type: ignore[attr-defined,no-any-return]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


def sign_in(web: TestClient, username: str) -> TestClient:
    """A browser of its own, signed in as `username`."""
    browser = TestClient(web.app)
    answer = browser.post("/login", data={"username": username, "password": PASSWORD, "next": "/tasks",
                                          "csrf_token": csrf(browser.get("/").text)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return browser


def opens_inbox(web: TestClient, cookies: dict[str, str]) -> bool:
    """Whether a browser holding these cookies (a copy saved earlier) gets the inbox."""
    answer = TestClient(web.app, cookies=cookies).get("/tasks", follow_redirects=False)
    assert answer.status_code in (200, 303), answer.status_code
    return answer.status_code == 200


def saved(browser: TestClient) -> dict[str, str]:
    return dict(browser.cookies.items())


def post(browser: TestClient, url: str) -> Any:
    return browser.post(url, data={"csrf_token": csrf(browser.get("/tasks").text)}, follow_redirects=False)


def test_the_cookie_carries_the_session_secret_and_the_csrf_token_never_the_user(web: TestClient) -> None:
    browser = sign_in(web, "ann")
    browser.get("/tasks")
    payload = browser.cookies["cxp_session"].split(".")[0]
    content = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(content) == {"sid", "csrf_token"}
    assert "ann" not in json.dumps(content)


def test_a_cookie_saved_before_logout_no_longer_opens_the_inbox(web: TestClient) -> None:
    browser = sign_in(web, "ann")
    copy = saved(browser)
    assert opens_inbox(web, copy)
    assert post(browser, "/logout").headers["location"] == "/"
    assert not opens_inbox(web, copy)
    assert opens_inbox(web, saved(sign_in(web, "ann")))  # signing in again: a new session


def test_a_password_change_ends_every_session_of_the_user(web: TestClient) -> None:
    here, there, other = saved(sign_in(web, "ann")), saved(sign_in(web, "ann")), saved(sign_in(web, "bob"))
    set_password(web.app.state.cxp, SYSTEM, "ann", "a brand new password")
    assert not opens_inbox(web, here) and not opens_inbox(web, there)
    assert opens_inbox(web, other)


def test_disabling_a_user_on_the_admin_page_ends_their_sessions(web: TestClient) -> None:
    ann = saved(sign_in(web, "ann"))
    admin = sign_in(web, "admin")
    assert post(admin, "/admin/users/ann/disable").status_code == 303
    assert not opens_inbox(web, ann)
    assert opens_inbox(web, saved(admin))


def test_an_administrator_ends_all_sessions_of_a_user_on_the_admin_page(web: TestClient) -> None:
    cxp = web.app.state.cxp
    ann_here, ann_there = saved(sign_in(web, "ann")), saved(sign_in(web, "ann"))
    token = issue_token(cxp, SYSTEM, "ann").token
    admin = sign_in(web, "admin")
    assert 'action="/admin/users/ann/end-sessions"' in admin.get("/admin").text
    answer = post(admin, "/admin/users/ann/end-sessions")
    assert answer.status_code == 303 and answer.headers["location"] == "/admin#users"
    assert "Every session of ann has ended (2 session(s), 1 API token(s) revoked)." in admin.get("/admin").text
    assert not opens_inbox(web, ann_here) and not opens_inbox(web, ann_there)
    assert web.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert opens_inbox(web, saved(admin))


def test_a_user_signs_out_everywhere_from_any_page(web: TestClient) -> None:
    phone, laptop = saved(sign_in(web, "ann")), sign_in(web, "ann")
    other = saved(sign_in(web, "bob"))
    page = laptop.get("/tasks").text
    assert 'action="/logout/everywhere"' in page
    answer = post(laptop, "/logout/everywhere")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert "You are signed out everywhere: 2 session(s) ended" in laptop.get("/").text
    assert not opens_inbox(web, phone) and not opens_inbox(web, saved(laptop))
    assert opens_inbox(web, other)


def test_the_api_ends_all_sessions_of_a_user_for_an_administrator_or_the_user(web: TestClient) -> None:
    cxp = web.app.state.cxp
    ann = saved(sign_in(web, "ann"))
    as_bob = {"Authorization": f"Bearer {issue_token(cxp, SYSTEM, 'bob').token}"}
    refused = web.post("/api/users/ann/end-sessions", headers=as_bob)
    assert refused.status_code == 403 and "bob may not end the sessions of ann" in refused.json()["detail"]
    assert opens_inbox(web, ann)
    as_admin = {"Authorization": f"Bearer {issue_token(cxp, SYSTEM, 'admin').token}"}
    done = web.post("/api/users/ann/end-sessions", headers=as_admin)
    assert done.status_code == 200 and done.json() == {"username": "ann", "sessions_ended": 1, "tokens_revoked": 0}
    assert not opens_inbox(web, ann)
    assert web.post("/api/users/nobody/end-sessions", headers=as_admin).status_code == 404
    mine = web.post("/api/users/bob/end-sessions", headers=as_bob)  # their own: the token used goes too
    assert mine.json()["tokens_revoked"] == 1
    assert web.get("/api/auth/me", headers=as_bob).status_code == 401


def test_a_session_ends_eight_hours_after_sign_in_however_busy(web: TestClient) -> None:
    browser = sign_in(web, "ann")
    for _ in range(15):
        clock(web).advance(minutes=30)
        assert browser.get("/tasks", follow_redirects=False).status_code == 200
    clock(web).advance(minutes=30)
    answer = browser.get("/tasks", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/?next=/tasks"


def test_a_session_left_unused_for_an_hour_ends(web: TestClient) -> None:
    browser = sign_in(web, "ann")
    clock(web).advance(minutes=59)
    assert browser.get("/tasks", follow_redirects=False).status_code == 200
    clock(web).advance(minutes=60)
    assert browser.get("/tasks", follow_redirects=False).status_code == 303


# --- sign-in answers (point 2) -----------------------------------------------------------------------

def _api_answers(web: TestClient, username: str) -> list[tuple[int, str, str | None]]:
    answers = []
    for _ in range(5):
        answer = web.post("/api/auth/token", data={"username": username, "password": "a wrong guess"})
        answers.append((answer.status_code, answer.json()["detail"], answer.headers.get("retry-after")))
    return answers


def _page_answers(web: TestClient, username: str) -> list[tuple[int, str, str | None]]:
    browser = TestClient(web.app)
    answers = []
    for _ in range(5):
        answer = browser.post("/login", data={"username": username, "password": "a wrong guess", "next": "/tasks",
                                              "csrf_token": csrf(browser.get("/").text)})
        shown = re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]+"', "", answer.text)
        shown = shown.replace(username, "USERNAME")
        answers.append((answer.status_code, shown, answer.headers.get("retry-after")))
    return answers


def test_a_real_account_and_a_made_up_one_get_the_same_answers_from_the_api_and_the_sign_in_page(
        web: TestClient) -> None:
    real, made_up = _api_answers(web, "ann"), _api_answers(web, "annie")
    assert real == made_up
    assert [status for status, _, _ in real] == [401, 401, 401, 429, 429]
    assert real[3][1:] == ("too many failed sign-ins: try again in 1 s", "1")
    real_page, made_up_page = _page_answers(web, "bob"), _page_answers(web, "bobby")
    assert real_page == made_up_page
    assert [(status, wait) for status, _, wait in real_page] == [
        (401, None), (401, None), (401, None), (429, "1"), (429, "1")]


def test_the_browser_keeps_the_cookie_as_long_as_the_session_may_last(tmp_path: Any) -> None:
    from workflows.settings import Settings
    from workflows.web.security import session_middleware_kwargs

    settings = Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path, session_hours=2)
    assert session_middleware_kwargs(settings)["max_age"] == 2 * 3600


def test_a_username_with_a_nul_byte_is_a_401_not_a_500(web: TestClient) -> None:
    answer = web.post("/api/auth/token", data={"username": "ann\x00", "password": "x"})
    assert (answer.status_code, answer.json()["detail"]) == (401, "wrong username or password")
    browser = TestClient(web.app)
    page = browser.post("/login", data={"username": "ann\x00", "password": "x", "csrf_token": csrf(browser.get("/").text)})
    assert page.status_code == 401 and "wrong username or password" in page.text
