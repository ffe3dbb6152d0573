"""bpmnlint's recommended rules on a BPMN file a person deploys (SPEC §14), run by the npm package
itself, as `tests/bpmn/test_lint.py` runs it on the shipped files.

Why not a Python port of the rules: the recommended set has 26 rules (labels, implicit splits and
ends, fake joins, overlapping shapes, …) whose exact meaning is bpmnlint's; a partial port would call
a file clean that bpmnlint does not, and drift from the rules the test suite holds the shipped files
to. So the deployment runs the real bpmnlint where it is installed (`npm ci` in a checkout, or
`CXP_BPMNLINT` naming the command), and where it is not — a server without Node.js — it still checks
everything else a deployment needs (the file parses against the BPMN schema, every service task is
bound, every user task has a form) and says, in its answer, its audit event and the version's history,
that lint was not run and why. `CXP_BPMNLINT=off` skips it on purpose (said the same way)."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

RULES = '{"extends": "bpmnlint:recommended"}'
TIMEOUT_SECONDS = 60
# a problem line of bpmnlint's report: "  <element>  error|warning  <message>  <rule>"
_LINE = re.compile(r"^\s+(?P<element>\S+)\s+(?P<level>error|warning)\s+(?P<message>.+?)\s{2,}(?P<rule>[\w/:-]+)\s*$")


@dataclass(frozen=True)
class LintResult:
    """`ran`: bpmnlint checked the file; `problems`: its errors and warnings, one sentence each;
    `note`: what a person reads about the check (clean, or why it was not run)."""

    ran: bool
    problems: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def status(self) -> str:
        """"clean", "problems" or "not run"."""
        if not self.ran:
            return "not run"
        return "problems" if self.problems else "clean"


def _checkout_bpmnlint() -> Path:
    """Where `npm ci` puts bpmnlint in a checkout of this repository."""
    return Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "bpmnlint"


def find_command(setting: str) -> str | None:
    """The bpmnlint executable: `setting` when given (a path or a command on PATH), else the
    checkout's, else `bpmnlint` on PATH; None when there is none (or `setting` is "off")."""
    if setting.strip().lower() == "off":
        return None
    if setting.strip():
        return shutil.which(setting.strip())
    local = _checkout_bpmnlint()
    if local.is_file():
        return str(local)
    return shutil.which("bpmnlint")


def lint(xml: bytes, setting: str = "") -> LintResult:
    """bpmnlint's recommended rules on one BPMN document."""
    if setting.strip().lower() == "off":
        return LintResult(False, note="bpmnlint was not run: it is switched off on this server (CXP_BPMNLINT=off)")
    command = find_command(setting)
    if command is None:
        return LintResult(False, note="bpmnlint was not run: it is not installed on this server (run `npm ci` "
                                      "in the checkout, or name it with CXP_BPMNLINT)")
    with tempfile.TemporaryDirectory(prefix="cxp-lint-") as folder:
        (Path(folder) / ".bpmnlintrc").write_text(RULES, encoding="utf-8")
        (Path(folder) / "process.bpmn").write_bytes(xml)
        try:
            done = subprocess.run([command, "process.bpmn"], cwd=folder, capture_output=True, text=True,  # noqa: S603
                                  timeout=TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            return LintResult(False, note=f"bpmnlint was not run: {command} could not be started ({err})")
    problems = [f"{m['element']}: {m['message']} ({m['rule']}, {m['level']})"
                for m in (_LINE.match(line) for line in done.stdout.splitlines()) if m]
    if done.returncode not in (0, 1) or (done.returncode == 1 and not problems):
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return LintResult(False, note=f"bpmnlint was not run: {command} failed ({reason[0][:200]})")
    return LintResult(True, problems, "bpmnlint's recommended rules: " + (
        f"{len(problems)} problem(s)" if problems else "clean"))
