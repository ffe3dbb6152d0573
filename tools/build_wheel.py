"""Build the project's wheel from a clean copy of the working tree; print the wheel's path.

Usage::

    python tools/build_wheel.py OUT_DIR

setuptools builds in the source folder and reuses ``build/lib`` from earlier builds, where a file
since deleted or renamed would still be shipped; building from a fresh copy (without the virtualenv,
node_modules, caches and local data) gives the wheel exactly the working tree and leaves the checkout
untouched. ``pip wheel --no-deps`` builds the one wheel, in pip's isolated build environment.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what is never part of a build: local environments, caches, build output, local data
SKIP = (".git", ".venv", "venv", "node_modules", "var", "build", "dist", "out", "*.egg-info",
        "__pycache__", ".pytest_cache", ".hypothesis", "*.pyc", "*.db", "*.db-wal", "*.db-shm")


def build_wheel(out_dir: Path, source: Path = ROOT, python: str = sys.executable) -> Path:
    """Build the wheel of `source` into `out_dir` (replacing an older one there) with the pip of
    `python`; raise CalledProcessError when pip fails."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("clusterxchange-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="cxp-wheel-src-") as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(*SKIP))
        subprocess.run([python, "-m", "pip", "wheel", "--no-deps", "--quiet",
                        "--wheel-dir", str(out_dir), str(copy)], check=True)
    built = sorted(out_dir.glob("clusterxchange-*.whl"))
    if len(built) != 1:
        raise RuntimeError(f"expected one clusterxchange wheel in {out_dir}, found {len(built)}")
    return built[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the wheel to")
    args = parser.parse_args()
    print(build_wheel(args.out_dir.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
