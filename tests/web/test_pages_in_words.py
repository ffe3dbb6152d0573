"""No page shows a code where a person reads words (issue 20, point 6): every role walks the pages of a
demo programme stopped mid-way (3 May 2027: exchanges at every stage, work in every inbox) and the text
it reads — outside <code>, <pre>, form values and the diagram — holds no snake_case code such as
`awaiting_match` or `agri_food`."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from workflows.app import App
from workflows.db.models import Exchange, User
from workflows.demo.run import run_demo
from workflows.settings import Settings
from workflows.web.app import create_app

pytestmark = pytest.mark.slow

SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
HIDDEN = ("script", "style", "code", "pre", "textarea", "svg")
SKIP = ("/logout", "/api/", "/files/", "download", ".csv", ".zip", ".xml", ".pdf", ".xlsx", ".svg", "/static/")
START = ["/", "/tasks", "/my", "/exchanges", "/reports", "/payments", "/audit", "/admin", "/calls", "/offers"]
PAGES_PER_ROLE = 40


class _Reader(HTMLParser):
    """The text a person reads on a page, and the page's own links."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden, self.text, self.links = 0, [], []  # type: tuple[int, list[str], list[str]]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in HIDDEN
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.startswith("/") and not href.startswith("//"):
            self.links.append(href.split("#")[0])

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in HIDDEN and self.hidden > 0

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("in-words")
    app = App(Settings(database_url=f"sqlite:///{folder}/cxp.db", files_dir=folder / "files"))
    run_demo(app, seed=7, size="small", progress=False, until=date(2027, 5, 3))
    yield app
    app.close()


def _people(app: App) -> list[str]:
    with app.uow() as uow:
        s = uow.session
        first = {role: s.scalars(select(User.username).where(User.role == role).order_by(User.id)).first()
                 for role in ("officer", "finance", "auditor", "administrator")}
        visitor = s.scalars(select(User.username).join(Exchange, Exchange.visitor_org_id == User.organisation_id)
                            .order_by(Exchange.id)).first()
    return [name for name in (*first.values(), visitor) if name]


def test_every_role_reads_words_not_codes(demo: App) -> None:
    web = create_app(application=demo)
    found: dict[str, set[str]] = defaultdict(set)
    people = _people(demo)
    assert len(people) == 5
    for username in people:
        client = TestClient(web, base_url="https://testserver")
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
        assert token
        signed = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token[1],
                                             "next": "/"}, follow_redirects=False)
        assert signed.status_code == 303, username
        seen: set[str] = set()
        queue = list(START)
        while queue and len(seen) < PAGES_PER_ROLE:
            path = queue.pop(0)
            if path in seen or any(part in path for part in SKIP):
                continue
            seen.add(path)
            answer = client.get(path)
            if answer.status_code != 200 or "text/html" not in answer.headers.get("content-type", ""):
                continue
            reader = _Reader()
            reader.feed(answer.text)
            for code in SNAKE.findall(" ".join(reader.text)):
                found[code].add(f"{username} {path}")
            queue += [link for link in reader.links if link not in seen]
        assert len(seen) > 10, (username, seen)
    assert not found, {code: sorted(where)[:3] for code, where in found.items()}
