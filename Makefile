# U4SSC KPI platform. `make` alone lists the targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Installs are reproducible: exact versions with hashes from the lock files (`make lock`
# refreshes them from pyproject.toml); the stamps change whenever a lock file does.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links --no-emit-index-url
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat pyproject.toml $(DEV_LOCK) | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
# `make test` runs the suite on this many processes (pytest-xdist; one database each).
TEST_WORKERS ?= 2
PORT ?= 5000
export KPI_ENV ?= development

.DEFAULT_GOAL := help
.PHONY: help install install-dev lock db seed run serve test test-fast lint audit typecheck bench system-deps clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml $(LOCK)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(DEV_STAMP): $(VENV)/bin/python pyproject.toml $(DEV_LOCK)
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@ $(STAMP)

install: $(STAMP) ## Create .venv and install the app (locked versions, hashes checked)

install-dev: $(DEV_STAMP) ## Install the app with test and lint tools (locked versions)

lock: $(VENV)/bin/python ## Refresh requirements.lock and requirements-dev.lock from pyproject.toml
	$(BIN)/pip install --quiet pip-tools
	$(PIP_COMPILE) --upgrade --output-file $(LOCK) pyproject.toml
	$(PIP_COMPILE) --upgrade --extra dev --constraint $(LOCK) --output-file $(DEV_LOCK) pyproject.toml

db: install ## Create or upgrade the database schema
	$(BIN)/kpi-app init-db

seed: db ## Load the fictional demo cities, values and users
	$(BIN)/kpi-app seed-demo

run: seed ## Set everything up and serve on http://127.0.0.1:5000 with demo data
	$(BIN)/kpi-app run --host $(HOST) --port $(PORT)

serve: install ## Production server (gunicorn, 3 sync workers); set SECRET_KEY and DATABASE_URL first
	KPI_ENV=production $(BIN)/gunicorn --workers $${WEB_CONCURRENCY:-3} --threads $${WEB_THREADS:-1} --bind $(HOST):$(PORT) 'kpi_app:create_app()'

system-deps: ## Services and system packages the tests need (PostgreSQL running, Chromium)
	@bash scripts/system-deps.sh

lint: install-dev ## ruff and mypy
	$(BIN)/ruff check kpi_app tests bench seeds
	$(BIN)/ruff format --check kpi_app tests bench seeds
	$(BIN)/mypy kpi_app
	$(BIN)/bandit -q -r kpi_app -lll  # fails on any high-severity finding
	$(BIN)/lint-imports  # layer contracts: [tool.importlinter] in pyproject.toml

audit: install-dev ## pip-audit the installed dependencies (needs a reachable vulnerability database)
	$(BIN)/pip-audit --skip-editable --strict --progress-spinner off

typecheck: install-dev
	$(BIN)/mypy kpi_app

test: install-dev system-deps lint ## Set everything up and run the whole suite (SQLite and PostgreSQL)
	$(BIN)/kpi-app check-catalogue
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

test-fast: install-dev ## Unit tests only (no database, no browser)
	$(BIN)/pytest tests/unit -q

bench: install-dev ## Benchmarks (print ratios against an in-process baseline)
	$(BIN)/python bench/score_bench.py

clean: ## Remove the virtualenv and local database
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
