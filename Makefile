# One command to run the product on SQLite with demo data, one to run every test.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
CXP     = $(VENV)/bin/cxp
DEMO_DB = sqlite:///var/demo.db

.PHONY: install run test check bench chaos scaling lint-bpmn check-wheel constraints clean

# the versions CI tested: constraints.txt pins every distribution (refresh it with `make constraints`)
# uv installs them (the same resolution as pip, a minute faster on a fresh machine: downloads in parallel)
UV_VERSION ?= 0.13.9
export UV_VERSION
$(VENV)/.installed: pyproject.toml constraints.txt tools/system_deps.sh
	bash tools/system_deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(PY) -m uv pip install --python $(PY) --quiet -c constraints.txt -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# the browser assets the web workspace serves (htmx, bpmn-js), copied from node_modules (git-ignored)
VENDOR = workflows/web/static/vendor
$(VENDOR)/.installed: node_modules/.installed tools/vendor_assets.py
	$(PYTHON) tools/vendor_assets.py
	touch $@

install: $(VENV)/.installed node_modules/.installed $(VENDOR)/.installed

## run: install, generate the demo programme on a fresh SQLite file (var/demo.db) — stopped on
## 3 May 2027 with work waiting in every inbox — then serve the web workspace and the API on it
DEMO_UNTIL ?= 2027-05-03
PORT ?= 8000
run: install
	rm -f var/demo.db var/demo.db-wal var/demo.db-shm
	rm -rf var/demo.files
	$(CXP) init --db $(DEMO_DB)
	$(CXP) demo --db $(DEMO_DB) --until $(DEMO_UNTIL)
	$(CXP) audit verify --db $(DEMO_DB)
	@echo ""
	@echo "The workspace: http://127.0.0.1:$(PORT)/  (API docs: http://127.0.0.1:$(PORT)/docs)"
	@echo "The command line on the same data: export CXP_DATABASE_URL=$(DEMO_DB); $(CXP) tasks --user officer1.south"
	@echo "Drive the demo to its end later: $(CXP) demo --db $(DEMO_DB)"
	$(CXP) serve --db $(DEMO_DB) --port $(PORT)

## test: install, run the static checks, then every test (SQLite, and PostgreSQL where it answers; bpmnlint)
## (two pytest-xdist workers: the suite shares a 2-core machine well; TEST_WORKERS=0 runs it in one process)
TEST_WORKERS ?= 2
test: install check
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

## check: ruff (pyflakes, bugbear, import order, pyupgrade), mypy (--strict for rules/, tasks/,
## reports/) and the import-linter contracts of the layers, each at zero findings (pyproject.toml)
check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## bench: the speed figures, as JSON
bench: install
	$(PY) -m benchmarks

## chaos: kill -9 a random server or worker at least 50 times while a programme runs on PostgreSQL, then
## check that nothing acknowledged is lost and nothing ran twice (benchmarks/chaos.py; a few minutes;
## not part of `test`). CHAOS_ARGS="--exchanges 40 --kills 200" makes it longer.
CHAOS_ARGS ?=
chaos: install
	$(PY) -m benchmarks.chaos $(CHAOS_ARGS)

## scaling: product-path exchanges per second with 1, 2 and 4 worker processes on PostgreSQL, the
## efficiency, the share of time waiting for locks and the timers' p95 (benchmarks/scaling.py)
SCALING_ARGS ?=
scaling: install
	$(PY) -m benchmarks.scaling $(SCALING_ARGS)

## check-wheel: build the wheel, install it (not editable) in a fresh virtualenv, run init, demo, audit verify
check-wheel:
	PYTHON=$(PYTHON) bash tools/check_wheel.sh

## constraints: re-pin every distribution to the newest versions pyproject.toml allows (then test, commit)
constraints:
	$(PYTHON) tools/freeze_constraints.py

lint-bpmn: node_modules/.installed
	npx --no-install bpmnlint bpmn/*.bpmn

clean:
	rm -rf $(VENV) node_modules var .pytest_cache
