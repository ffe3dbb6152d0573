"""`workflows.app` wires the adapters and knows nothing of the use cases: every service module imports
it, so it must import none of them, not even lazily inside a function (ENGINEERING.md, "One front
door"). What a process's end means to the services reaches the engine through
`workflows.engine.completion`, where `workflows.services.lifecycle` registers it."""
from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("workflows", "tasks", "rules", "reports", "bpmn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in FIRST_PARTY:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The first-party modules `name` imports at run time — at module level or inside a function, but
    not under `if TYPE_CHECKING:` — with the packages that importing them runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(inner) for node in ast.walk(tree) if _type_checking_only(node)
               for stmt in node.body for inner in ast.walk(stmt)}  # type: ignore[attr-defined]
    targets: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known)
    found = set()
    for target in targets:
        parts = target.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in known)
    found.discard(name)
    return found


@functools.lru_cache(maxsize=1)
def import_graph() -> dict[str, frozenset[str]]:
    known = modules()
    return {name: frozenset(imports_of(name, path, known)) for name, path in known.items()}


def reachable_from(start: str) -> dict[str, str]:
    """Every first-party module importing `start` may import, with the module that imports it."""
    graph = import_graph()
    seen, todo = {start: ""}, [start]
    while todo:
        current = todo.pop()
        for target in graph[current]:
            if target not in seen:
                seen[target] = current
                todo.append(target)
    return seen


def path_to(seen: dict[str, str], name: str) -> str:
    chain = [name]
    while seen[chain[-1]]:
        chain.append(seen[chain[-1]])
    return " <- ".join(chain)


def test_nothing_the_app_imports_imports_a_service_module_or_the_app_again() -> None:
    seen = reachable_from("workflows.app")
    services = sorted(name for name in seen if name == "workflows.services" or name.startswith("workflows.services."))
    assert services == [], [path_to(seen, name) for name in services]
    assert "workflows.engine.completion" in seen and "workflows.engine.runner" in seen  # the graph is followed
    back = sorted(name for name in seen if "workflows.app" in import_graph()[name])
    assert back == [], f"an import cycle through workflows.app: {[path_to(seen, name) for name in back]}"


def test_the_services_still_import_the_app_the_graph_sees_that_direction() -> None:
    assert "workflows.app" in reachable_from("workflows.services.lifecycle")


def test_building_an_app_and_its_engine_loads_no_service_module(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from workflows.app import App\n"
        "from workflows.settings import Settings\n"
        f"app = App(Settings(database_url='sqlite:///{tmp_path}/cxp.db', files_dir={str(tmp_path / 'files')!r}))\n"
        "assert app.engine.library is app.library\n"
        "app.close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('workflows.services')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_finished_exchange_still_gets_its_final_status_through_the_registered_hook() -> None:
    from workflows.engine import completion
    from workflows.services.lifecycle import on_process_completed

    assert on_process_completed in completion.hooks()
