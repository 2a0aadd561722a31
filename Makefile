# openfn-airflow: `make run` starts everything with the example project, `make test` checks it all.

# Python 3.11 when the machine has it, else the default python3 (3.11 or newer is needed).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Installing again only when the package metadata changed: these stamps remember the last install.
INSTALLED      := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test
# The Node side of JavaScript jobs (OpenFn's runtime, the compiler's parser): `npm ci` again only
# when the committed package-lock.json is newer than this stamp.
JS_DIR         := openfn_airflow/runtime/js
JS_INSTALLED   := $(JS_DIR)/node_modules/.installed
# Arguments for pytest in `make test`: by default two pytest workers (pytest-xdist; tests/conftest.py
# groups the tests for them); PYTEST_WORKERS= runs the suite in one process.
PYTEST_WORKERS ?= -n 2 --no-loadscope-reorder
# One message when Node.js 20+ or npm is missing; exits non-zero so `make test` stops there.
CHECK_NODE = command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 \
	&& node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
	|| { echo "JavaScript jobs need Node.js 20 or newer with npm (found: $$(node --version 2>/dev/null || echo no node)); install it, e.g. on Debian: apt-get install nodejs npm" >&2; exit 1; }

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck bench clean distclean

help:
	@echo "make run        start PostgreSQL (if needed), Airflow and the example project (UI on :8080)"
	@echo "                options: make run ARGS='--port 8081 --verbose'"
	@echo "make test       ruff check, ruff format --check, mypy, pytest"
	@echo "make lint       ruff check, ruff format --check, mypy"
	@echo "make js         npm ci the JavaScript runtime (make run and make test do it; Node.js 20+)"
	@echo "make bench      run bench/runtime.py"
	@echo "make check-compose  validate docker-compose.yaml without a Docker engine (needs docker-compose)"
	@echo "make clean      remove caches and build output"
	@echo "make distclean  clean, and remove .venv, .airflow and .pgdata (all local state)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(INSTALLED_TEST): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(INSTALLED) $@

$(JS_INSTALLED): $(JS_DIR)/package-lock.json $(JS_DIR)/package.json
	@$(CHECK_NODE)
	npm ci --prefix $(JS_DIR) --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: js
js: $(JS_INSTALLED)

# Without Node, `make run` still starts (Python jobs run); JavaScript jobs then exit 3.
run: $(INSTALLED)
	@$(MAKE) --no-print-directory $(JS_INSTALLED) || echo "make run: starting without JavaScript jobs" >&2
	$(BIN)/openfn-airflow standalone $(ARGS)

test: $(INSTALLED_TEST) $(JS_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_WORKERS)

lint: $(INSTALLED_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: $(INSTALLED_TEST)
	$(BIN)/mypy

bench: $(INSTALLED)
	$(BIN)/python bench/runtime.py

# docker-compose.yaml, checked by the installed Compose CLI (no engine needed); see the script.
.PHONY: check-compose
check-compose:
	bash scripts/check-compose

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache bench/out
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .airflow .pgdata
