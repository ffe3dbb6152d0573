"""An ASGI application served by a real uvicorn server on loopback, in a thread of the test process.

The listening socket is bound (a port of 8100–8199) and listening before the server starts, so that
clients may connect at once: the kernel queues them until uvicorn accepts — no waiting loop."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PORTS = range(8100, 8200)


def listen() -> socket.socket:
    for port in PORTS:
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.listen(64)
        return sock
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@contextmanager
def served(asgi: Any) -> Iterator[int]:
    """Serve `asgi` until the block ends; its port."""
    import uvicorn

    listener = listen()
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
