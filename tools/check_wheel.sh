#!/usr/bin/env bash
# Prove the wheel: build it, install it (not editable) into a fresh virtualenv with the pinned
# versions of constraints.txt, then, from a folder that is not the checkout, create a database,
# run the whole demo on it and verify its audit trail. Exits non-zero on the first problem.
#
# Usage: tools/check_wheel.sh            (PYTHON=python3.11 tools/check_wheel.sh for another Python)
# Called by `make check-wheel` and by CI. pip's cache makes re-runs quicker.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/cxp-check-wheel.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
started=$SECONDS

step() { echo "check-wheel: $* ($((SECONDS - started)) s)"; }

step "fresh virtualenv in $TMP/venv"
"$PYTHON" -m venv "$TMP/venv"
VPY="$TMP/venv/bin/python"
"$VPY" -m pip install --quiet --upgrade pip

step "building the wheel"
WHEEL="$("$VPY" "$ROOT/tools/build_wheel.py" "$TMP/dist")"
step "the wheel holds the web workspace's templates and the browser assets copied from npm"
"$VPY" - "$WHEEL" <<'PY'
import sys
import zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
needed = [
    "workflows/web/templates/base.html",
    "workflows/web/templates/macros/form.html",
    "workflows/web/templates/partials/oversight_macros.html",
    "workflows/web/templates/partials/admin_glance.html",
    "workflows/web/static/app.css",
    "workflows/web/static/app.js",
    "workflows/web/static/diagram.js",
    "workflows/web/static/vendor/htmx/htmx.min.js",
    "workflows/web/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js",
    "workflows/web/static/vendor/bpmn-js/assets/diagram-js.css",
    "workflows/web/static/vendor/bpmn-js/assets/bpmn-js.css",
    "workflows/web/static/vendor/bpmn-js/assets/bpmn-font/css/bpmn.css",
    "workflows/web/static/vendor/licenses/bpmn-js.txt",
    "workflows/web/static/vendor/licenses/htmx.org.txt",
]
missing = [name for name in needed if name not in names]
if missing:
    sys.exit("check-wheel: the wheel lacks " + ", ".join(missing)
             + " (run `make install`: npm ci, then tools/vendor_assets.py)")
PY
step "installing $(basename "$WHEEL") with -c constraints.txt"
"$VPY" -m pip install --quiet -c "$ROOT/constraints.txt" "$WHEEL"

# nothing of the checkout on the way: another working directory, no PYTHONPATH, no editable install
mkdir "$TMP/work"
cd "$TMP/work"
unset PYTHONPATH CXP_DATABASE_URL
CXP="$TMP/venv/bin/cxp"
DB="sqlite:///$TMP/work/w.db"
"$VPY" - "$ROOT" <<'EOF'
import sys
from pathlib import Path
import bpmn, workflows
root = Path(sys.argv[1]).resolve()
for module in (bpmn, workflows):
    where = Path(module.__file__).resolve()
    if where.is_relative_to(root):
        sys.exit(f"check-wheel: {module.__name__} is imported from the checkout ({where}), not the wheel")
EOF

step "cxp init"
"$CXP" init --db "$DB"
step "cxp demo --json"
"$CXP" demo --db "$DB" --json > demo.json
"$VPY" "$ROOT/tools/check_demo_summary.py" demo.json
step "cxp audit verify"
"$CXP" audit verify --db "$DB"
step "the wheel works"
