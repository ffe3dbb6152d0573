"""bpmn/*.bpmn pass bpmnlint's recommended rules (.bpmnlintrc); `npm ci` installs bpmnlint."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bpmn_files_pass_bpmnlint_recommended_rules():
    if not (ROOT / "node_modules" / ".bin" / "bpmnlint").exists():
        pytest.fail("bpmnlint is not installed: run `npm ci` in the repository root")
    npx = shutil.which("npx")
    if npx is None:
        pytest.fail("npx is not on PATH: install Node.js and run `npm ci` in the repository root")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bpmn").glob("*.bpmn"))
    assert len(files) == 4
    result = subprocess.run(
        [npx, "--no-install", "bpmnlint", *files], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stdout, result.stdout
