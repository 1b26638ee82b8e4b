# Yanglao: `make demo` runs the platform, `make test` runs lint and the whole suite.
# Every target installs what it needs first, so both work on a fresh clone.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
YANGLAO := $(BIN)/yanglao
DEMO_ROOT ?= 1201
DEMO_ELDERS ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000
# The PostgreSQL run of the suite (trust auth on the machine's server); pytest-django makes test_yanglao.
TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/yanglao

.PHONY: demo test setup lint test-sqlite test-postgres bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

yanglao/static/vendor/.collected: node_modules/.package-lock.json $(BIN)/.installed
	$(YANGLAO) collect_assets
	touch $@

setup: $(BIN)/.installed yanglao/static/vendor/.collected

# Migrates, loads the city's divisions, the demo users and DEMO_ELDERS synthetic elders, then serves.
demo: setup
	$(YANGLAO) demo --root $(DEMO_ROOT) --elders $(DEMO_ELDERS) --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

test-sqlite: setup
	YANGLAO_ENV=test $(BIN)/pytest -q

test-postgres: setup
	@if $(BIN)/python -m yanglao.core.probe "$(TEST_PG_URL)"; then \
		YANGLAO_ENV=test DATABASE_URL="$(TEST_PG_URL)" $(BIN)/pytest -q; \
	elif [ -n "$$CI" ] || [ "$$YANGLAO_REQUIRE_SERVICES" = "1" ]; then \
		echo "PostgreSQL is required (CI or YANGLAO_REQUIRE_SERVICES=1) but does not answer at $(TEST_PG_URL)"; exit 1; \
	else \
		echo "!!! SKIPPED: the PostgreSQL run of the suite; no server answers at $(TEST_PG_URL) !!!"; \
	fi

test: lint test-sqlite test-postgres

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; YANGLAO_ENV=test $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules yanglao/static/vendor var
