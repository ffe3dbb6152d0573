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
    from benchmarks.lifecycle import in_memory, persisted

    memory = isolated(in_memory, n)
    out: dict[str, Any] = {"in_memory": memory}
    sqlite = isolated(persisted, f"sqlite:///{work}/bench.db", n, work / "files")
    sqlite["ratio_to_in_memory"] = round(sqlite["per_second"] / memory["per_second"], 3)
    out["persisted_sqlite"] = sqlite
    pg = postgres_url()
    if pg:
        result = isolated(persisted, pg, n, work / "files-pg")
        result["ratio_to_in_memory"] = round(result["per_second"] / memory["per_second"], 3)
        out["persisted_postgresql"] = result
    else:
        out["persisted_postgresql"] = "skipped: no PostgreSQL server answers"
    out["target_ratio"] = 0.5
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--exchanges", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.exchanges or (20 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="cxp-bench-") as tmp:
        report: dict[str, Any] = {"lifecycle": lifecycle(n, Path(tmp))}
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
