"""The main pages at `n` open tasks, on the HTTP benchmark's server and database (`benchmarks.http`):
the inbox page (`GET /tasks`) and the page of a closed exchange's instance (`GET /instances/{id}`, its
whole history), each next to the API call that reads the same (`GET /api/tasks`,
`GET /api/instances/{id}`), in turns in the same run.

*server*: p50/p95 with a signed-in session cookie (signed in by posting /login with the CSRF token of
the sign-in form), one client, and `CLIENTS` clients at once (bounded).
*browser*: Debian's chromium driven by Playwright: the navigation's domContentLoaded and loadEventEnd,
and for the instance page the moment diagram.js marks the diagram drawn (`data-state="ready"` on
`.bpmn-diagram`), in ms since the navigation started; the first (cold) visit and the median of the
next ones. A page answering 404 (not built yet) is reported as "pages not available".
"""
from __future__ import annotations

import re
import shutil
import statistics
from contextlib import closing
from typing import TYPE_CHECKING, Any

from benchmarks.http import CLIENTS, PASSWORD, concurrently, getter, http_client, in_turns

if TYPE_CHECKING:
    from benchmarks.http import Fixture, Server

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# records when diagram.js marks the diagram drawn (an init script: CSP does not apply to it)
WATCH_DIAGRAM = """
new MutationObserver((changes, observer) => {
  const diagram = document.querySelector('.bpmn-diagram');
  if (diagram && ['ready', 'failed'].includes(diagram.getAttribute('data-state'))) {
    window.__cxpDiagram = {state: diagram.getAttribute('data-state'), at: performance.now()};
    observer.disconnect();
  }
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-state']});
"""
NAVIGATION = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {dom_content_loaded_ms: n.domContentLoadedEventEnd, load_ms: n.loadEventEnd}; }"""


def signed_in(base_url: str, username: str) -> Any:
    """An httpx client with the session cookie of `username`, signed in through the sign-in form."""
    client = http_client(base_url)
    form = client.get("/")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if form.status_code != 200 or not found:
        raise RuntimeError(f"the sign-in form did not answer with a CSRF token ({form.status_code})")
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": found.group(1),
                                         "next": "/tasks"})
    if answer.status_code != 303:
        raise RuntimeError(f"signing in as {username} answered {answer.status_code}")
    return client


def measure(fixture: Fixture, server: Server, reps: int = 30, browser_reps: int = 3,
            max_requests: int = 500, max_seconds: float = 30) -> dict[str, Any]:
    pages = {"inbox": (fixture.officer, fixture.officer_token, "/tasks", "/api/tasks"),
             "instance": (fixture.viewer, fixture.viewer_token, f"/instances/{fixture.instance_id}",
                          f"/api/instances/{fixture.instance_id}")}
    out: dict[str, Any] = {}
    for name, (username, token, page, api) in pages.items():
        with closing(signed_in(server.url, username)) as session, http_client(server.url, token) as bearer:
            probe = session.get(page)
            if probe.status_code == 404:
                out[name] = {"page": page, "status": "pages not available", "answered": 404}
                continue
            turns = in_turns({"page": getter(session, page), "api": getter(bearer, api)}, reps)
            cookies = dict(session.cookies)
        many = concurrently(lambda cookies=cookies, page=page: getter(http_client(server.url, cookies=cookies), page),
                            CLIENTS,
                            max_requests, max_seconds)
        out[name] = {"page": page, "server": {"single": turns["page"], "concurrent": many},
                     "api_alone": {"path": api, **turns["api"]},
                     "ratio_to_api": round(turns["page"]["p50_ms"] / turns["api"]["p50_ms"], 2),
                     "html_bytes": len(probe.content),
                     "browser": browser(server.url, page, cookies, browser_reps, diagram=name == "instance")}
    out["server_peak_rss_mb"] = server.peak_rss_mb()
    return out


def browser(base_url: str, page_path: str, cookies: dict[str, str], reps: int, diagram: bool) -> dict[str, Any]:
    """Load times of `page_path` in chromium, signed in with `cookies` (see the module's docstring)."""
    executable = shutil.which("chromium")
    if reps < 1:
        return {"status": "not measured"}
    if executable is None:
        return {"status": "browser not available: no chromium on PATH"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        return {"status": f"browser not available: {err}"}
    visits: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            context = chromium.new_context()
            context.add_cookies([{"name": k, "value": v, "url": base_url} for k, v in cookies.items()])
            context.add_init_script(WATCH_DIAGRAM)
            tab = context.new_page()
            for _ in range(reps + 1):  # the first visit cold (nothing cached), the others warm
                answer = tab.goto(base_url + page_path, wait_until="load")
                if answer is None or answer.status != 200 or not tab.url.endswith(page_path):
                    return {"status": f"the page answered {answer.status if answer else None} at {tab.url}"}
                visit = {k: round(v, 1) for k, v in tab.evaluate(NAVIGATION).items()}
                if diagram:
                    tab.wait_for_function("() => window.__cxpDiagram", timeout=30_000)
                    drawn = tab.evaluate("() => window.__cxpDiagram")
                    visit["diagram_state"], visit["diagram_ready_ms"] = drawn["state"], round(drawn["at"], 1)
                visits.append(visit)
            context.close()
        finally:
            chromium.close()
    first, warm = visits[0], visits[1:]
    result: dict[str, Any] = {"visits": len(visits), "first": first}
    for key in first:
        if key != "diagram_state":
            result[f"{key}_p50"] = round(statistics.median(v[key] for v in warm), 1)
    if diagram:
        result["diagram_states"] = sorted({v["diagram_state"] for v in visits})
    return result
