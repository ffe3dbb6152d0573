"""The wheel ships what a worker without a checkout needs (SPEC §11): the process models, the email
templates, the migrations and the XSDs, read through importlib.resources — and nothing of tests/,
benchmarks/ or tools/. constraints.txt pins every dependency at a version pyproject.toml allows.

The full proof (a fresh virtualenv, `cxp init`, `cxp demo`, `cxp audit verify`) is `make check-wheel`;
these tests catch a broken package list within `make test`, in a few seconds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bpmn", "rules", "tasks", "workflows", "reports")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_wheel.py"), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _tree(pattern: str) -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in ROOT.glob(pattern) if "__pycache__" not in path.parts}


def test_the_wheel_holds_every_bpmn_file_of_the_tree(names: set[str]) -> None:
    bpmn = _tree("bpmn/*.bpmn")
    assert len(bpmn) >= 3
    assert bpmn | {"bpmn/__init__.py"} <= names


def test_the_wheel_holds_every_email_template(names: set[str]) -> None:
    templates = _tree("workflows/templates/email/*.j2")
    assert len(templates) >= 3 * 13
    assert templates <= names


def test_the_wheel_holds_the_migrations_and_their_template(names: set[str]) -> None:
    migrations = _tree("workflows/db/migrations/**/*.py") | _tree("workflows/db/migrations/*.mako")
    assert {"workflows/db/migrations/env.py", "workflows/db/migrations/script.py.mako"} <= migrations
    assert _tree("workflows/db/migrations/versions/0*.py")
    assert migrations <= names


def test_the_wheel_holds_the_xsd_files_of_the_tree(names: set[str]) -> None:
    assert _tree("reports/xsd/*.xsd") | _tree("reports/xsd/README.md") <= names


def test_the_wheel_holds_every_module_of_the_packages(names: set[str]) -> None:
    """A subpackage without __init__.py would be left out silently."""
    modules = set().union(*(_tree(f"{package}/**/*.py") for package in PACKAGES))
    assert modules - names == set()


def test_the_wheel_holds_nothing_of_tests_benchmarks_or_tools(names: set[str]) -> None:
    top = {name.split("/", 1)[0] for name in names}
    assert top == set(PACKAGES) | {"clusterxchange-0.1.0.dist-info"}
    assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", ".db"))]


def test_the_installed_code_finds_its_data_inside_the_wheel_itself(wheel: Path, tmp_path: Path) -> None:
    """Imported straight from the zip, outside the checkout: nothing is read through a file path."""
    script = """
import sys, zipfile
from workflows.engine.library import BPMN_DIR, bpmn_files
from workflows.db.schema import MIGRATIONS
from workflows.mail import TEMPLATES, _environment
import workflows
assert workflows.__file__.startswith(sys.argv[1]), workflows.__file__
print(sorted(f.name for f in bpmn_files(BPMN_DIR)))
assert MIGRATIONS.joinpath("env.py").is_file() and MIGRATIONS.joinpath("script.py.mako").is_file()
for name in TEMPLATES:
    for part in ("subject", "txt", "html"):
        _environment().get_template(f"{name}.{part}.j2")
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CXP_")}
    env["PYTHONPATH"] = str(wheel)
    done = subprocess.run([sys.executable, "-c", script, str(wheel)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sorted(path.rsplit("/", 1)[1] for path in _tree("bpmn/*.bpmn")))


def test_constraints_pin_every_dependency_at_a_version_pyproject_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(line) for line in project["dependencies"] + project["optional-dependencies"]["test"]]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    assert "clusterxchange" not in pins
    wrong = [f"{req.name}: {pins.get(canonicalize_name(req.name), 'not pinned')}" for req in wanted
             if not req.specifier.contains(pins.get(canonicalize_name(req.name), "0.dev0"), prereleases=True)]
    assert not wrong, f"constraints.txt is out of date, run `make constraints`: {wrong}"


def _check_summary(tmp_path: Path, summary: object) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    return subprocess.run([sys.executable, str(ROOT / "tools" / "check_demo_summary.py"), str(path)],
                          capture_output=True, text=True, timeout=60)


GOOD = {"exchanges_by_state": {"closed": 12, "rejected": 3, "cancelled": 1}, "exchanges": 16,
        "total_paid_eur": "19110.00", "instances_by_status": {"completed": 20},
        "audit": {"ok": True, "events": 1885}}


def test_the_demo_check_accepts_a_healthy_summary(tmp_path: Path) -> None:
    done = _check_summary(tmp_path, GOOD)
    assert done.returncode == 0, done.stderr
    assert "16 exchanges in final states" in done.stdout


@pytest.mark.parametrize(("change", "field"), [
    ({"audit": {"ok": False, "events": 3, "first_bad_event": 2}}, "audit"),
    ({"exchanges_by_state": {"closed": 5, "awaiting_payment": 1}}, "exchanges_by_state"),
    ({"exchanges_by_state": {}}, "exchanges_by_state"),
    ({"instances_by_status": {"completed": 5, "running": 1}}, "instances_by_status"),
    ({"total_paid_eur": "0.00"}, "total_paid_eur"),
    ({"total_paid_eur": "lots"}, "total_paid_eur"),
])
def test_the_demo_check_fails_naming_the_field(tmp_path: Path, change: dict, field: str) -> None:
    done = _check_summary(tmp_path, {**GOOD, **change})
    assert done.returncode == 1
    assert done.stderr.startswith(f"demo summary: {field}:")
