# Education information platform — developer entry points (GNU make).
#
#   make install   virtualenv + Python deps + front-end assets (fast when nothing changed)
#   make demo      migrate, load code tables, generate demo data, serve on 127.0.0.1:8000
#   make serve     the production stack locally: gunicorn, worker, scheduler (docs/operations.md)
#   make test      system packages, PostgreSQL, then the suite on SQLite and PostgreSQL
#   make bench     benchmark against PostgreSQL (the first run also generates a 27-million-student province)
#   make lint      ruff
#   make clean     remove var/ (including the demo database) and .venv
#
# Variables: DEMO_ARGS (extra generate_demo options, e.g. make demo DEMO_ARGS="--scale 0.2"),
#            PYTEST_ARGS (extra pytest arguments for make test).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
PGPORT  ?= 5432
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:$(PGPORT)/eduplatform_bench
# The province-size statistics data (27 M students), generated once and reused (bench/statistics.py).
PROVINCE_DATABASE_URL ?= postgres://postgres@127.0.0.1:$(PGPORT)/eduplatform_province
DEMO_ARGS   ?=
PYTEST_ARGS ?=

.PHONY: help install demo serve test bench lint clean

help:
	@sed -n 's/^#   make /make /p' $(firstword $(MAKEFILE_LIST))

# ---------------------------------------------------------------------------------------------
# install: the stamp files make re-runs a no-op unless pyproject.toml / package-lock.json change.

install: $(VENV)/.installed var/vendor/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PIP) || { echo "Creating $(VENV) ..."; $(PYTHON3) -m venv $(VENV); }
	@echo "Installing Python packages (pip install -e '.[dev]') ..."
	$(PIP) install -q --disable-pip-version-check --upgrade pip
	$(PIP) install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# npm ci writes node_modules/.package-lock.json; rerun it when the lock file changes.
node_modules/.package-lock.json: package.json package-lock.json
	@echo "Installing front-end packages (npm ci) ..."
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

var/vendor/.installed: node_modules/.package-lock.json scripts/vendor-assets.sh scripts/echarts-build.mjs \
		$(wildcard scripts/browser-floor/*.mjs) data/reference/gd_cities.geojson data/reference/gd_counties.geojson
	@echo "Copying front-end assets into var/vendor ..."
	bash scripts/vendor-assets.sh
	@touch $@

# ---------------------------------------------------------------------------------------------
# demo: keeps var/eduplatform.sqlite3 between runs; generate_demo skips if demo data exists
# (delete var/eduplatform.sqlite3 to rebuild it). Set DATABASE_URL to run the demo on PostgreSQL.

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_reference
	$(PY) manage.py generate_demo --anomalies $(DEMO_ARGS)
	$(PY) manage.py quality_scan --region 440000000000
	$(PY) manage.py quality_scores
	$(PY) manage.py collectstatic --noinput -v0
	@echo
	@echo "平台地址: http://127.0.0.1:8000"
	@echo
	PY=$(PY) bash scripts/serve.sh

# ---------------------------------------------------------------------------------------------
# serve: the production stack without docker (deploy/serve.sh): collectstatic (hashed, gzip + brotli),
# migrate, gunicorn on 127.0.0.1:8000 (WEB_WORKERS), the worker and the scheduler. The SQLite demo
# database by default (run `make demo` once for data), or DATABASE_URL.

serve: install
	PY=$(PY) bash deploy/serve.sh

# ---------------------------------------------------------------------------------------------

test: install
	bash scripts/install-system-packages.sh
	bash scripts/ensure-postgres.sh
	bash scripts/run-tests.sh $(PYTEST_ARGS)

bench: install
	bash scripts/ensure-postgres.sh
	DATABASE_URL=$(BENCH_DATABASE_URL) PROVINCE_DATABASE_URL=$(PROVINCE_DATABASE_URL) $(PY) bench/run.py

# Only `ruff check`: `ruff format --check .` would currently fail on existing code that was
# never run through the formatter. Add it here once the tree has been formatted in one commit.
lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf var $(VENV)
