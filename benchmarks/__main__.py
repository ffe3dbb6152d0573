"""`python -m benchmarks [--quick]`: the speed figures of ENGINEERING "Speed and scale", as one JSON
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


def lifecycle(n: int, work: Path) -> dict[str, Any]:
    """Exchanges per second through the whole lifecycle: SpiffWorkflow in memory (the baseline), our
    engine persisted with the same canned services (the persistence overhead: target >= 0.5x), and
    the full product (real services: rules, claims, permissions, R-4EYES)."""
    from benchmarks.lifecycle import engine_persisted, in_memory, persisted

    memory = isolated(in_memory, n)
    out: dict[str, Any] = {"in_memory": memory, "target_ratio": 0.5}
    databases = {"sqlite": f"sqlite:///{work}/{{}}.db"}
    pg = postgres_url()
    if pg:
        databases["postgresql"] = pg
    else:
        out["postgresql"] = "skipped: no PostgreSQL server answers"
    for name, url in databases.items():
        for label, fn in (("engine_persisted", engine_persisted), ("product", persisted)):
            target = url.format(label) if name == "sqlite" else (postgres_url() or url)
            result = isolated(fn, target, n, work / f"files-{label}-{name}")
            if "per_second" in result and "per_second" in memory:
                result["ratio_to_in_memory"] = round(result["per_second"] / memory["per_second"], 3)
            out[f"{label}_{name}"] = result
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--exchanges", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.exchanges or (20 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="cxp-bench-") as tmp:
        report: dict[str, Any] = {"lifecycle": lifecycle(n, Path(tmp)), "cli_start": cli_start(Path(tmp))}
        try:
            from benchmarks import payment_batch
        except ImportError:
            report["payment_batch"] = "not built yet"
        else:
            report["payment_batch"] = isolated(payment_batch.run, 1_000 if args.quick else 10_000)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
