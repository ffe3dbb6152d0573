"""The server's peak memory under anonymous chunked posts (issue 18, point 1):
`python -m benchmarks.body_limits [--mb 400] [--posts 2] [--port P] [--root CHECKOUT]`.

`cxp serve` (uvicorn, one worker) on a fresh SQLite database, in a process of its own; `posts` clients
at once each send a body of `mb` MiB, chunked (no Content-Length), without a session, to
`POST /tasks/1/claim` — a page that needs one. Each client stops sending when the server answers.
Printed as one JSON document: the server's resident memory before (VmRSS, VmHWM) and its peak after
(VmHWM), and for each client the status it got, the bytes it sent and the seconds it took.

`--root` runs the server from another checkout of the product (the same interpreter and libraries;
its code first on the path), to compare with the code before a change, e.g. `--root /work/main`."""
from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 64 * 1024


def _status(pid: int) -> dict[str, float]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {line.split(":")[0]: round(int(line.split()[1]) / 1024, 1) for line in lines
            if line.startswith(("VmRSS:", "VmHWM:"))}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def chunked_post(port: int, path: str, total: int) -> dict[str, Any]:
    """POST up to `total` bytes chunked, stopping when the server answers or closes."""
    started = time.perf_counter()
    sent, answer = 0, b""
    frame = f"{CHUNK:x}\r\n".encode() + b"a" * CHUNK + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n"
                     "content-type: application/x-www-form-urlencoded\r\n\r\n".encode())
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(frame)
                sent += CHUNK
            if sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while b"\r\n" not in answer:
                piece = sock.recv(4096)
                if not piece:
                    break
                answer += piece
        except (ConnectionResetError, TimeoutError):
            pass
    status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/") else "no answer"
    return {"status": status, "sent_mb": round(sent / 1024 / 1024, 1), "seconds": round(time.perf_counter() - started, 2)}


def run(mb: int = 400, posts: int = 2, port: int = 0, root: Path = ROOT) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="cxp-body-limits-"))
    port = port or _free_port()
    env = {**os.environ, "CXP_DATABASE_URL": f"sqlite:///{work}/cxp.db", "CXP_FILES_DIR": str(work / "files"),
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    cxp = [sys.executable, "-m", "workflows.cli.app"]
    subprocess.run([*cxp, "init"], cwd=root, env=env, check=True, capture_output=True, timeout=300)
    server = subprocess.Popen([*cxp, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:  # until it answers /api/health (bounded)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
                    probe.sendall(b"GET /api/health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
                    if probe.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        before = _status(server.pid)
        results: list[dict[str, Any]] = []
        clients = [threading.Thread(target=lambda: results.append(chunked_post(port, "/tasks/1/claim", mb * 1024 * 1024)))
                   for _ in range(posts)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=900)
        after = _status(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"root": str(root), "body_mb": mb, "posts": posts, "server_rss_before_mb": before["VmRSS"],
            "server_peak_before_mb": before["VmHWM"], "server_peak_after_mb": after["VmHWM"],
            "server_rss_after_mb": after["VmRSS"], "clients": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.body_limits")
    parser.add_argument("--mb", type=int, default=400)
    parser.add_argument("--posts", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="the server's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code the server runs")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.mb, args.posts, args.port, args.root.resolve()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
