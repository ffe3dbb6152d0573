"""Run one measurement in its own (spawned) process: its peak RSS is its own, and a crash is reported."""
from __future__ import annotations

import multiprocessing as mp
import resource
from collections.abc import Callable
from queue import Empty
from typing import Any


def _child(queue: Any, fn: Callable[..., dict], args: tuple) -> None:
    try:
        result = fn(*args)
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except BaseException as err:  # reported in the JSON, never a hang
        import traceback

        result = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()[-2000:]}
    queue.put(result)


def isolated(fn: Callable[..., dict], *args: Any) -> dict:
    """`fn(*args)` in a spawned process; its result, or an `error` naming why there is none (it
    raised, or the process died before reporting: killed, or `fn` could not be loaded there)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(queue, fn, args))
    process.start()
    while True:
        try:
            result: dict = queue.get(timeout=1)
            break
        except Empty:
            if not process.is_alive():
                try:  # it may have reported just before it ended
                    result = queue.get(timeout=1)
                    break
                except Empty:
                    result = {"error": f"the measuring process ended (exit code {process.exitcode}) without a result"}
                    break
    process.join()
    return result
