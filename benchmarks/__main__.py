"""`python -m benchmarks [--quick] [--only SECTION ...]`: the speed figures of ENGINEERING "Speed and scale", as one JSON
document, each next to the raw baseline measured in the same run. Every measurement runs in its own
process, so its peak memory (max RSS) is its own."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.isolation import isolated


def postgres_url() -> str | None:
    url = os.environ.get("CXP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS cxp_bench WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE cxp_bench"))
        engine.dispose()
        from sqlalchemy.engine import make_url

        return make_url(url).set(database="cxp_bench").render_as_string(hide_password=False)
    except Exception:
        return None


def paired(fn: Any, target: Any, n: int, files: Path) -> dict[str, Any]:
    """`fn` measured right after its own in-memory baseline (each in a fresh process, on a fresh
    database): the speed of this machine drifts within a run, so the ratio compares runs seconds apart."""
    from benchmarks.lifecycle import in_memory

    baseline = isolated(in_memory, n)
    result = isolated(fn, target(0), n, files)
    if "per_second" not in result or "per_second" not in baseline:
        return {**result, "in_memory": baseline}
    result["in_memory_per_second"] = baseline["per_second"]
    result["ratio_to_in_memory"] = round(result["per_second"] / baseline["per_second"], 3)
    return result


def lifecycle(n: int, work: Path, repeats: int = 5) -> dict[str, Any]:
    """Exchanges per second through the whole lifecycle.

    * `in_memory`: SpiffWorkflow alone (the baseline), in a process of its own (its peak memory).
    * `engine_persisted_<db>`: our engine persisted with the same canned services — the persistence
      overhead, target >= 0.5x — run in turns with the baseline in one process (`interleaved`); on
      SQLite `repeats` times, the median reported with every ratio.
    * `naive_persisted_sqlite`: Spiff's standard serializer (spec included), the whole JSON read and
      written at every step (`NaivePersisted`) — what the target's "about 0.16x" refers to.
    * `product_<db>`: the full product (real services: rules, claims, permissions, R-4EYES), right
      after its own baseline run."""
    from benchmarks.lifecycle import in_memory, interleaved, naive_interleaved, persisted

    out: dict[str, Any] = {"in_memory": isolated(in_memory, n), "target_ratio": 0.5}
    # the reference point of the target ("naive persistence reaches about 0.16"), measured here
    out["naive_persisted_sqlite"] = isolated(naive_interleaved, f"sqlite:///{work}/naive.db", max(2, n // 4))
    pg = postgres_url()
    if pg is None:
        out["postgresql"] = "skipped: no PostgreSQL server answers"
    for name in ("sqlite", "postgresql") if pg else ("sqlite",):
        def target(i: int, label: str, name: str = name) -> str:
            if name == "sqlite":
                return f"sqlite:///{work}/{label}-{i}.db"
            return postgres_url() or ""  # a fresh database for every run
        runs = []
        for i in range(repeats if name == "sqlite" else 1):
            runs.append(isolated(interleaved, target(i, "engine"), n, work / f"files-engine-{name}-{i}"))
        runs.sort(key=lambda r: r.get("ratio_to_in_memory", 0))
        engine = dict(runs[len(runs) // 2])
        if len(runs) > 1:
            engine["ratios_measured"] = [r.get("ratio_to_in_memory") for r in runs]
        out[f"engine_persisted_{name}"] = engine
        out[f"product_{name}"] = paired(persisted, lambda i: target(i, "product"), n, work / f"files-product-{name}")
    return out


def growth(measure: Any, size_key: str, seconds_key: str, small: int, large: int, *args: Any,
           large_result: dict[str, Any] | None = None) -> dict[str, Any]:
    """`measure(size, *args)` at `small` ("1x") and `large` ("10x") sizes, each in its own process: how
    time and peak memory grow with the data. Linear means the time per item stays the same
    (`per_item_ratio` 1.0). `large_result`: the large run, when it was measured already."""
    runs = {"1x": isolated(measure, small, *args),
            "10x": large_result if large_result is not None else isolated(measure, large, *args)}
    out: dict[str, Any] = {
        label: {size_key: size, seconds_key: runs[label].get(seconds_key), "peak_rss_mb": runs[label].get("peak_rss_mb")}
        for label, size in (("1x", small), ("10x", large))}
    if all(isinstance(runs[label].get(seconds_key), (int, float)) for label in runs):
        per_item = (runs["10x"][seconds_key] / large) / (runs["1x"][seconds_key] / small)
        out["per_item_ratio"] = round(per_item, 3)
        out["peak_rss_ratio"] = round(runs["10x"]["peak_rss_mb"] / runs["1x"]["peak_rss_mb"], 2)
        out["linear_or_better"] = per_item <= 1.25  # within this machine's drift between two runs
    else:
        out["errors"] = [runs[label].get("error") for label in runs if "error" in runs[label]]
    return out


def cli_start(work: Path, repeat: int = 5) -> dict[str, Any]:
    """`cxp tasks --json` on an empty database against `python -c "import sqlalchemy"` (target <= 3x)."""
    import subprocess
    import time

    db = f"sqlite:///{work}/cli.db"
    subprocess.run([sys.executable, "-m", "workflows.cli.app", "init", "--db", db], check=True,
                   capture_output=True)

    def best(cmd: list[str]) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        return min(times)

    ours = best([sys.executable, "-m", "workflows.cli.app", "tasks", "--json", "--db", db])
    base = best([sys.executable, "-c", "import sqlalchemy"])
    return {"cxp_tasks_s": round(ours, 3), "import_sqlalchemy_s": round(base, 3), "ratio": round(ours / base, 2),
            "target_ratio": 3}


SECTIONS = ("lifecycle", "cli_start", "inbox_query", "payment_batch", "kpi_report", "http", "applications",
            "public_pages")


def http_section(open_tasks: int, max_requests: int = 2000, max_seconds: float = 60, page_reps: int = 30,
                 browser_reps: int = 3) -> dict[str, Any]:
    """The HTTP figures (benchmarks/http.py, pages.py) at `open_tasks`, in a process of their own;
    each concurrent run bounded by `max_requests` and `max_seconds`."""
    from benchmarks import http

    return isolated(http.run, open_tasks, max_requests, max_seconds, page_reps, browser_reps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--exchanges", type=int, default=None)
    parser.add_argument("--only", action="append", choices=SECTIONS, metavar="SECTION",
                        help=f"measure only this section (repeatable; one of {', '.join(SECTIONS)}); default: all")
    args = parser.parse_args(argv)
    only = set(args.only or SECTIONS)
    n = args.exchanges or (20 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="cxp-bench-") as tmp:
        report: dict[str, Any] = {}
        growths: dict[str, Any] = {}
        if "lifecycle" in only:
            report["lifecycle"] = lifecycle(n, Path(tmp))
        if "cli_start" in only:
            report["cli_start"] = cli_start(Path(tmp))
        from benchmarks import inbox, payment_batch
        from benchmarks.lifecycle import engine_persisted_in

        open_tasks = 10_000 if args.quick else 100_000
        if "inbox_query" in only:
            report["inbox_query"] = {"sqlite": isolated(inbox.run, open_tasks)}
            pg = postgres_url()
            report["inbox_query"]["postgresql"] = isolated(inbox.run, open_tasks, pg) if pg else \
                "skipped: no PostgreSQL server answers"

        claims = 1_000 if args.quick else 10_000
        if "payment_batch" in only:
            report["payment_batch"] = isolated(payment_batch.run, claims)
        from benchmarks import kpi

        events = 100_000 if args.quick else 1_000_000
        if "kpi_report" in only:
            report["kpi_report"] = isolated(kpi.run, events)
        if "http" in only:
            report["http"] = http_section(open_tasks, *((500, 20, 10, 2) if args.quick else ()))
        if "applications" in only:  # POST /api/applications next to its service call (benchmarks/applications.py)
            from benchmarks import applications

            report["applications"] = isolated(applications.run, 20 if args.quick else 200)
        if "public_pages" in only:  # /calls, /offers (1,000 offers) and their JSON next to their service calls
            from benchmarks import applications

            report["public_pages"] = isolated(applications.public_pages, 1000, 20 if args.quick else 100)
        # ENGINEERING: how each figure grows from 1x to 10x the data
        if "lifecycle" in only:
            growths["engine_persisted_sqlite"] = growth(engine_persisted_in, "exchanges", "seconds", n // 2, 5 * n, tmp)
        if "payment_batch" in only:
            growths["payment_batch"] = growth(payment_batch.run, "claims", "ours_s", claims // 10, claims,
                                              large_result=report["payment_batch"])
        if "kpi_report" in only:
            growths["kpi_report"] = growth(kpi.run, "events", "ours_s", events // 10, events,
                                           large_result=report["kpi_report"])
        if "inbox_query" in only:
            growths["inbox_query_sqlite"] = growth(inbox.run, "open_tasks", "ours_ms", open_tasks // 10, open_tasks,
                                                   large_result=report["inbox_query"]["sqlite"])
        if "http" in only:
            growths["http_api_inbox"] = http_growth(open_tasks, report["http"])
        report["growth_1x_to_10x"] = growths
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def http_growth(open_tasks: int, large: dict[str, Any]) -> dict[str, Any]:
    """The API inbox's p50 (20 clients) and the server's peak RSS at a tenth of `open_tasks` and at
    `open_tasks` (the http section's own run, `large`). A page of 50 should cost about the same at
    both sizes: `p50_ratio` near 1 (`per_item_ratio` near 0.1) is better than linear."""
    from benchmarks import http

    small = isolated(http.api_inbox_p50, open_tasks // 10)
    out: dict[str, Any] = {}
    runs = {"1x": (open_tasks // 10, small), "10x": (open_tasks, large)}
    for label, (size, run) in runs.items():
        server_rss = run.get("api_inbox", run).get("server_peak_rss_mb")  # after the API part, before the pages
        out[label] = {"open_tasks": size, "api_p50_ms": run.get("api_p50_ms"), "server_peak_rss_mb": server_rss,
                      "peak_rss_mb": run.get("peak_rss_mb")}
    if all(isinstance(run.get("api_p50_ms"), (int, float)) for _, run in runs.values()):
        out["p50_ratio"] = round(large["api_p50_ms"] / small["api_p50_ms"], 2)
        out["per_item_ratio"] = round(out["p50_ratio"] / 10, 3)
        out["server_peak_rss_ratio"] = round(out["10x"]["server_peak_rss_mb"] / out["1x"]["server_peak_rss_mb"], 2)
        out["linear_or_better"] = out["per_item_ratio"] <= 1.25
    else:
        out["errors"] = [run.get("error") for _, run in runs.values() if "error" in run]
    return out


if __name__ == "__main__":
    sys.exit(main())
