# Everything runs inside .venv, which is created and filled from
# requirements.txt on first use, and refilled whenever requirements.txt changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

VENV := .venv
PYTHON := $(VENV)/bin/python
# Touched after a successful install; requirements.txt being newer means the
# install is out of date.
STAMP := $(VENV)/.installed
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k signing -x".
PYTEST_ARGS ?=
# Tests need a SECRET_KEY but nothing they sign leaves the machine, so a fixed
# one is used unless the environment provides its own. mypy needs one too: its
# Django plugin imports the settings.
LOCAL_SECRET_KEY := test-only-secret-key-not-for-any-deployment-0000
# Everything ruff lints: all the project's Python.
LINT_PATHS := campaign petitions tests bench scripts manage.py

.PHONY: run check test bench clean-local catalogues

# pip is the sign of a usable venv: Debian leaves a venv without pip behind
# when python3-venv is missing, and this rule then retries once it is installed.
$(VENV)/bin/pip:
	python3 -m venv $(VENV)

$(STAMP): requirements.txt | $(VENV)/bin/pip
	$(PYTHON) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	touch $(STAMP)

## catalogues: compile the translation catalogues (locale/*.po -> .mo).
catalogues: $(STAMP)
	$(PYTHON) scripts/catalogues.py compile

## run: the whole service locally (Redis, web, worker, beat); Ctrl-C stops it.
run: $(STAMP) catalogues
	exec $(PYTHON) scripts/run_local.py

## check: the static checks, each failing on any finding: ruff (lint and
## import order), lint-imports (the import contracts in .importlinter), mypy.
## ruff and mypy are set up in pyproject.toml.
check: export SECRET_KEY ?= $(LOCAL_SECRET_KEY)
check: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy

## test: the static checks, then the test suite, against settings as production uses them.
test: export SECRET_KEY ?= $(LOCAL_SECRET_KEY)
test: check $(STAMP) catalogues
	$(PYTHON) scripts/catalogues.py check
	$(PYTHON) manage.py collectstatic --noinput -v0
	$(PYTHON) -m pytest $(PYTEST_ARGS)

## bench: the load benchmark.
bench: $(STAMP)
	@test -f bench/run.py || { echo "bench/run.py does not exist yet." >&2; exit 1; }
	$(PYTHON) bench/run.py $(BENCH_ARGS)

## clean-local: DELETES LOCAL DATA: everything under var/ (the SQLite database,
## written mail, the embedded Redis's data, the generated SECRET_KEY).
clean-local:
	rm -rf var/
