#!/usr/bin/env bash
# Prove the wheel: build it, install it (not editable) into a fresh virtualenv with the pinned
# versions of constraints.txt, then, from a folder that is not the checkout, create a database,
# run the whole demo on it and verify its audit trail. Exits non-zero on the first problem.
#
# Usage: tools/check_wheel.sh            (PYTHON=python3.11 tools/check_wheel.sh for another Python)
# Called by `make check-wheel` and by CI. uv's cache makes re-runs quicker.
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
"$VPY" -m pip install --quiet "uv==${UV_VERSION:-0.13.9}"  # the installer make install uses

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
    "workflows/web/static/vendor/swagger-ui/swagger-ui-bundle.js",
    "workflows/web/static/vendor/swagger-ui/swagger-ui.css",
    "workflows/web/static/api-docs.js",
]
missing = [name for name in needed if name not in names]
if missing:
    sys.exit("check-wheel: the wheel lacks " + ", ".join(missing)
             + " (run `make install`: npm ci, then tools/vendor_assets.py)")
PY
step "installing $(basename "$WHEEL") with -c constraints.txt"
"$VPY" -m uv pip install --python "$VPY" --quiet -c "$ROOT/constraints.txt" "$WHEEL"

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
step "cxp demo --size small --json"
# the small demo drives every stage with fewer organisations (the full one is the tests' and make run's):
# what this proves is that the wheel alone runs the product end to end, in a quarter of the time
"$CXP" demo --db "$DB" --size small --json > demo.json
"$VPY" "$ROOT/tools/check_demo_summary.py" demo.json
step "cxp audit verify"
"$CXP" audit verify --db "$DB"
step "a Prefect worker with only the wheel runs a deployment of the process work pool"
export PREFECT_HOME="$TMP/prefect" DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_UI_ENABLED=false
PORT="$("$VPY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export PREFECT_API_URL="http://127.0.0.1:$PORT/api"
"$TMP/venv/bin/prefect" server start --host 127.0.0.1 --port "$PORT" > "$TMP/prefect-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$TMP"' EXIT
"$VPY" - <<'PY'
import os, sys, time, httpx
api = os.environ["PREFECT_API_URL"]
for _ in range(240):
    try:
        if httpx.get(f"{api}/health", timeout=2).status_code == 200:
            sys.exit(0)
    except httpx.HTTPError:
        pass
    time.sleep(0.5)
sys.exit("check-wheel: the Prefect server did not answer in 120 s")
PY
CXP_DATABASE_URL="$DB" "$CXP" flows deploy --pool wheel-pool --json > deployed.json
RUN="$("$VPY" - <<'PY'
import json, os, httpx
deployments = {row["deployment"]: row["id"] for row in json.load(open("deployed.json"))["deployments"]}
answer = httpx.post(f"{os.environ['PREFECT_API_URL']}/deployments/{deployments['timers/timers']}/create_flow_run",
                    json={}, timeout=10)
answer.raise_for_status()
print(answer.json()["id"])
PY
)"
CXP_DATABASE_URL="$DB" "$TMP/venv/bin/prefect" worker start --pool wheel-pool --type process --run-once \
    > "$TMP/worker.log" 2>&1
"$VPY" - "$RUN" <<'PY'
import os, sys, time, httpx
api, run = os.environ["PREFECT_API_URL"], sys.argv[1]
for _ in range(120):
    state = httpx.get(f"{api}/flow_runs/{run}", timeout=10).json()["state"]["type"]
    if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
        break
    time.sleep(1)
if state != "COMPLETED":
    sys.exit(f"check-wheel: the worker's timers run ended {state}")
PY
unset PREFECT_API_URL
step "the wheel works"
