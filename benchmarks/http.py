"""HTTP: the API's inbox listing at `n` open tasks, served by a real uvicorn server on loopback, against
the inbox service call alone in the same run (ENGINEERING "Speed and scale": at most 2x at p50).

*api*: `GET /api/tasks` (the first page of 50, the defaults: open, soonest due first) with the bearer
token of an officer whose inbox holds thousands of open tasks, sent by `CLIENTS` threads, each with its
own persistent connection (the standard library's http.client: a light client, so that what is timed
is the server and the loopback, not the client library), bounded in count and time; and by one client
alone.
*service*: `workflows.services.inbox.list_tasks(app, principal)` with the same principal (resolved from
the same token) and filters, in this process: single calls, and `CLIENTS` threads calling it at once.

`ratio` (the target's figure: at most 2) is the api p50 of one client over the p50 of one service call
— a request against the call it wraps; `ratio_concurrent` is api p50 over service p50 with `CLIENTS`
callers each; `ratio_throughput` the service's calls per second over the API's requests per second at
`CLIENTS` (in a closed loop, the ratio of their mean latencies). When a service call is shorter than
the interpreter's switch interval (5 ms: below about 20,000 open tasks), threads in one process take
the GIL in bursts, so the service's concurrent p50 is a call that did not wait and `ratio_concurrent` says
little: `ratio_throughput` is the fair comparison under load. The server runs in a subprocess of its own (`python -m benchmarks.http serve ...`, uvicorn
with the access log off), so that its peak RSS (`server_peak_rss_mb`) is its own. The database is the
inbox benchmark's (`benchmarks.inbox.seed_open_tasks`), plus one exchange driven through its whole
lifecycle by the product's services (`benchmarks.programme`), whose instance the pages section shows.
"""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = 50
CLIENTS = 20
PASSWORD = "bench-password-of-the-http-benchmark"


@dataclass
class Fixture:
    """A database built for the HTTP benchmarks and who is measured on it."""

    database_url: str
    files_dir: Path
    open_tasks: int
    officer: str  # whose inbox is listed (the inbox benchmark's officer)
    officer_token: str
    viewer: str  # an officer of the closed exchange's partnership
    viewer_token: str
    instance_id: int  # the closed exchange's process instance
    history_events: int
    seed_seconds: float


def build(work: Path, n: int) -> Fixture:
    """A fresh SQLite database in `work`: one exchange closed through the product's services (its whole
    history), then `n` open tasks by the inbox benchmark's builder; API tokens and passwords for both
    officers."""
    from sqlalchemy import func, select

    from benchmarks.inbox import seed_open_tasks
    from benchmarks.lifecycle import FORMS
    from benchmarks.programme import Programme
    from workflows.db.process_models import AuditEvent, ProcessInstance
    from workflows.services.access import SYSTEM
    from workflows.services.accounts import set_password
    from workflows.services.tokens import issue_token

    url, files = f"sqlite:///{work}/http-{n}.db", work / f"files-{n}"
    started = time.perf_counter()
    programme = Programme(url, files)
    app = programme.app
    try:
        programme.run(1, FORMS)
        with app.uow() as uow:
            instance_id = uow.session.scalar(select(ProcessInstance.id).where(
                ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == programme.exchanges[0],
                ProcessInstance.status == "completed"))
            history = uow.session.scalar(select(func.count()).where(AuditEvent.instance_id == instance_id))
        if instance_id is None:
            raise AssertionError("the benchmark's exchange did not close")
        officer = seed_open_tasks(app, n)
        tokens = {}
        for username in (officer, "officer1"):
            set_password(app, SYSTEM, username, PASSWORD)
            tokens[username] = issue_token(app, SYSTEM, username, name="bench", ttl_hours=24).token
    finally:
        app.close()
    return Fixture(url, files, n, officer, tokens[officer], "officer1", tokens["officer1"], int(instance_id),
                   int(history or 0), round(time.perf_counter() - started, 1))


# --- the server ----------------------------------------------------------------------------------

def serve(database_url: str, files_dir: str, port: int) -> None:
    """The server of the benchmark (in its own process): the product's application under uvicorn on
    127.0.0.1:`port`, without the access log."""
    import uvicorn

    from workflows.settings import Settings
    from workflows.web.app import create_app

    web = create_app(Settings(database_url=database_url, files_dir=Path(files_dir)))
    uvicorn.run(web, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`serve` in a subprocess, from start until it answers /api/health, to `stop`."""

    def __init__(self, fixture: Fixture, timeout: float = 60) -> None:
        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.http", "serve", fixture.database_url, str(fixture.files_dir),
             str(self.port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server ended at start: {self.process.stderr.read().decode()[-1500:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not answer within {timeout:.0f} s")
            time.sleep(0.1)

    def peak_rss_mb(self) -> float | None:
        """The server process's peak resident memory so far (VmHWM), in MB."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
        return round(kb / 1024, 1) if kb is not None else None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- timing --------------------------------------------------------------------------------------

def summary(seconds: list[float]) -> dict[str, Any]:
    """p50 and p95 in milliseconds of the latencies measured."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"calls": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(p95 * 1000, 3), "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


def in_turns(calls: dict[str, Callable[[], Any]], n: int) -> dict[str, dict[str, Any]]:
    """Each call `n` times, one after another in turns (so that their figures share the machine's
    drift); the p50/p95 of each."""
    spent: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(n):
        for label, call in calls.items():
            began = time.perf_counter()
            call()
            spent[label].append(time.perf_counter() - began)
    return {label: summary(times) for label, times in spent.items()}


def concurrently(make_call: Callable[[], Callable[[], Any]], clients: int, max_calls: int,
                 max_seconds: float) -> dict[str, Any]:
    """`clients` threads, each with its own call from `make_call()` (its own connection), calling it
    until `max_calls` calls in all or `max_seconds`; p50/p95 of the calls and calls per second.

    A call's time runs from the end of the thread's previous call (a closed loop): the wait for its
    turn counts, wherever it falls. Timed from the call's own start, threads in one process would hide
    it (a thread holding the GIL runs its whole call, and waits before the next); a client of the
    server waits for its turn inside its request."""
    lock, count = threading.Lock(), [0]
    spent: list[float] = []
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client() -> None:
        try:
            call = make_call()
            call()  # a connection opened and warm before the clock starts
        except Exception as err:  # noqa: BLE001 - reported, the barrier still released
            errors.append(f"{type(err).__name__}: {err}")
            call = None
        ready.wait()
        mine: list[float] = []
        began = time.perf_counter()
        while call is not None and began < deadline[0]:
            with lock:
                if count[0] >= max_calls:
                    break
                count[0] += 1
            try:
                call()
            except Exception as err:  # noqa: BLE001
                errors.append(f"{type(err).__name__}: {err}")
                break
            done = time.perf_counter()
            mine.append(done - began)  # from the end of the previous call: waiting for a turn counts
            began = done
        with lock:
            spent.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + max_seconds + 30  # warm-up time not counted below
    ready.wait()
    started = time.perf_counter()
    deadline[0] = started + max_seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, the first: {errors[0]}")
    return {**summary(spent), "clients": clients, "seconds": round(elapsed, 2),
            "per_second": round(len(spent) / elapsed, 1)}


# --- the API against the service -----------------------------------------------------------------

class LightResponse:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code, self.content = status_code, body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)


class LightClient:
    """One persistent HTTP/1.1 connection (http.client) sending GETs with fixed headers."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        from http.client import HTTPConnection
        from urllib.parse import urlsplit

        where = urlsplit(base_url)
        self.connection = HTTPConnection(where.hostname, where.port, timeout=60)
        self.headers = headers

    def get(self, path: str) -> LightResponse:
        self.connection.request("GET", path, headers=self.headers)
        answer = self.connection.getresponse()
        return LightResponse(answer.status, answer.read())

    def __enter__(self) -> LightClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.connection.close()


def api_client_for(base_url: str, token: str) -> LightClient:
    return LightClient(base_url, {"Authorization": f"Bearer {token}", "Accept": "application/json"})


def http_client(base_url: str, token: str | None = None, cookies: dict[str, str] | None = None) -> Any:
    """An httpx client keeping its connection open: with a bearer `token`, or a session's `cookies`."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, cookies=cookies, timeout=60)


def getter(client: Any, path: str) -> Callable[[], Any]:
    """A call that GETs `path` and insists on 200."""
    def get() -> Any:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
        return response
    return get


def api_inbox(fixture: Fixture, server: Server, clients: int = CLIENTS, max_requests: int = 2000,
              max_seconds: float = 60, single_calls: int = 200) -> dict[str, Any]:
    """`GET /api/tasks` against `list_tasks` for the same principal (see the module's docstring)."""
    from workflows.app import App
    from workflows.services.inbox import list_tasks
    from workflows.services.tokens import principal_for_token
    from workflows.settings import Settings

    app = App(Settings(database_url=fixture.database_url, files_dir=fixture.files_dir), create=False)
    try:
        principal = principal_for_token(app, fixture.officer_token)

        def service() -> Any:
            return list_tasks(app, principal, page_size=PAGE)

        with api_client_for(server.url, fixture.officer_token) as client:
            api = getter(client, "/api/tasks")
            listed = api().json()
            expected = service()
            if [t["id"] for t in listed["tasks"]] != [t.id for t in expected.tasks] or listed["total"] != expected.total:
                raise AssertionError("the API's inbox page and the service's differ")
            single = in_turns({"api": api, "service": service}, single_calls)

        def api_client() -> Callable[[], Any]:
            return getter(api_client_for(server.url, fixture.officer_token), "/api/tasks")

        many_api = concurrently(api_client, clients, max_requests, max_seconds)
        many_service = concurrently(lambda: service, clients, max_requests, max_seconds)
    finally:
        app.close()
    return {
        "open_tasks": fixture.open_tasks, "inbox_total": expected.total, "page": PAGE,
        "api": {"single": single["api"], "concurrent": many_api},
        "service": {"single": single["service"], "concurrent": many_service},
        "ratio": round(single["api"]["p50_ms"] / single["service"]["p50_ms"], 2),
        "ratio_p95": round(single["api"]["p95_ms"] / single["service"]["p95_ms"], 2),
        "ratio_concurrent": round(many_api["p50_ms"] / many_service["p50_ms"], 2),
        "ratio_throughput": round(many_service["per_second"] / many_api["per_second"], 2),
        "target_ratio": 2,
    }


def api_inbox_p50(n: int, max_requests: int = 1000, max_seconds: float = 30) -> dict[str, Any]:
    """The API inbox alone at `n` open tasks (the growth figure): `api_p50_ms` with `CLIENTS` clients,
    and the server's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="cxp-bench-http-") as tmp:
        fixture = build(Path(tmp), n)
        with Server(fixture) as server:
            result = api_inbox(fixture, server, max_requests=max_requests, max_seconds=max_seconds,
                               single_calls=50)
            rss = server.peak_rss_mb()
    return {"open_tasks": n, "api_p50_ms": result["api"]["concurrent"]["p50_ms"], "ratio": result["ratio"],
            "server_peak_rss_mb": rss}


def run(n: int = 100_000, max_requests: int = 2000, max_seconds: float = 60, page_reps: int = 30,
        browser_reps: int = 3) -> dict[str, Any]:
    """The whole section at `n` open tasks: the API inbox against the service, then the pages (server
    and browser times, next to their API calls), with the server's peak RSS after each part."""
    from benchmarks import pages

    with tempfile.TemporaryDirectory(prefix="cxp-bench-http-") as tmp:
        fixture = build(Path(tmp), n)
        with Server(fixture) as server:
            out: dict[str, Any] = {"api_inbox": api_inbox(fixture, server, max_requests=max_requests,
                                                          max_seconds=max_seconds)}
            out["api_inbox"]["server_peak_rss_mb"] = server.peak_rss_mb()
            out["api_p50_ms"] = out["api_inbox"]["api"]["concurrent"]["p50_ms"]  # the growth figure
            out["ratio"] = out["api_inbox"]["ratio"]
            out["pages"] = pages.measure(fixture, server, reps=page_reps, browser_reps=browser_reps,
                                         max_requests=max(50, max_requests // 4), max_seconds=max_seconds / 2)
            out["server_peak_rss_mb"] = server.peak_rss_mb()
        out.update(open_tasks=n, history_events=fixture.history_events, seed_seconds=fixture.seed_seconds)
    return out


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "serve":
    serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
