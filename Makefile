# The template's own tasks. Needs Python 3.11+, git and make; everything else
# is installed into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help demo test test-fast lint bench clean

help:
	@echo "make demo       bake the default project, mint a token and serve it on 127.0.0.1:8000"
	@echo "                (LOGIN=password: a login bake, a demo user, and curl lines for /token, /me, refresh, logout)"
	@echo "make test       run the template's whole test suite (bakes every mode)"
	@echo "make test-fast  the fast tier only: bakes, hooks, no installs or servers"
	@echo "make lint       ruff and mypy over the hooks and tests"
	@echo "make bench      measure the cost of authorization per request"
	@echo "                (LOGIN=password, oidc or all: also the login routes on SQLite and PostgreSQL)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --group dev
	@touch $(STAMP)

LOGIN ?= none

demo: $(STAMP)
	$(BIN)/python scripts/demo.py --login $(LOGIN)

test: lint
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check hooks tests scripts bench
	$(BIN)/ruff format --check hooks tests scripts bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench $(if $(filter-out none,$(LOGIN)),--login $(LOGIN)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build demo
