# The lead adds `run`. Targets here: venv, test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n 2

.PHONY: venv test

venv: $(STAMP)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $@

# A throwaway PostgreSQL is started for the run (scripts/with-postgres).
test: venv
	scripts/with-postgres $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)
