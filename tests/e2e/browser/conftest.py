"""Browser tests: Debian's chromium driven by Playwright's sync API, and the product served by uvicorn
on loopback.

Fixtures:
- ``browser`` (session): chromium at ``shutil.which("chromium")``; the tests skip, saying why, when it
  or Playwright is missing (and the terminal summary repeats it).
- ``page`` (function): a fresh context (no cookies shared between tests) at 1280×800, its page.
- ``web_app`` (function): the ASGI application to serve; by default ``create_app`` of
  workflows/web/app.py on the ``app`` fixture of tests/conftest.py. Tests override it.
- ``live_server`` (function): ``web_app`` served by uvicorn on 127.0.0.1 on a free port in a
  background thread, stopped afterwards; ``live_server.url`` is its address.
- ``screenshot(page, name)``: saves ``<name>.png`` (the full page) to ``$CXP_SCREENSHOTS`` (default
  var/screenshots/ in the checkout, git-ignored; CI keeps the folder as an artefact).

Playwright never downloads a browser here (`playwright install` fails on this network): Debian's
package is installed by tools/system_deps.sh (`make install`).
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
_skipped: dict[str, str] = {}
_taken: list[Path] = []


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("CXP_SCREENSHOTS") or ROOT / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(page: Any, name: str) -> Path:
    """The full page as ``<name>.png`` in the screenshots folder; returns the file."""
    path = screenshots_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    _taken.append(path)
    return path


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    return save_screenshot


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not shutil.which("chromium"):
        return "Debian's chromium is not installed (apt-get install chromium; make install tries)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _why_no_browser()
    if reason:
        _skipped["reason"] = reason
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB",
                                  timezone_id="Europe/Brussels")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def web_app(app: Any) -> Any:
    """The product's ASGI application on a fresh initialised database (override it in a test module)."""
    create_app = pytest.importorskip("workflows.web.app", reason="workflows/web/app.py is not there yet").create_app
    return create_app(application=app)


@dataclass
class LiveServer:
    url: str
    server: Any
    thread: threading.Thread


def serve(asgi_app: Any, timeout: float = 20.0) -> LiveServer:
    """Start uvicorn with `asgi_app` on 127.0.0.1 on a free port, in a daemon thread; return when it
    accepts connections (RuntimeError when it has not started within `timeout` seconds)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(asgi_app, log_level="warning", lifespan="auto", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:  # readiness, not a timing assertion
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", server, thread)


def stop(live: LiveServer) -> None:
    live.server.should_exit = True
    live.thread.join(timeout=20)


@pytest.fixture
def live_server(web_app: Any) -> Iterator[LiveServer]:
    live = serve(web_app)
    yield live
    stop(live)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "reason" in _skipped:
        terminalreporter.write_line(f"BROWSER TESTS SKIPPED: {_skipped['reason']}", yellow=True, bold=True)
    elif _taken:
        terminalreporter.write_line(f"browser screenshots: {len(_taken)} in {_taken[0].parent}")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The browser tests run on SQLite only (as the pages' tests, tests/web/conftest.py): the use cases
    under the pages are tested on both databases in tests/workflows and tests/e2e/api."""
    return f"sqlite:///{tmp_path}/cxp.db"


AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any) -> list[str]:
    """axe-core (from npm, injected into the page under test only) run on the whole page: its serious
    and critical violations, one line each ("id: the elements"); empty when there are none."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make install` (npm ci installs axe-core)")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return list(page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                              ".filter(v => ['serious', 'critical'].includes(v.impact))"
                              ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"))
