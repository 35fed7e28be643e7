PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed
RUNTIME := $(VENV)/.installed-runtime
PYTEST_ARGS ?= -n 2

.PHONY: venv test run lock

venv: $(STAMP)

# Every dependency, indirect ones too, is pinned by a lock that pip takes as constraints:
# requirements.lock for running (`make run` installs only that), requirements-dev.lock for the
# tests and tools. Reinstall only when pyproject.toml or its lock changed since the last install.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -c requirements-dev.lock -e '.[dev]'
	touch $@

$(RUNTIME): pyproject.toml requirements.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -c requirements.lock -e .
	touch $@

# The locks, from pyproject.toml's pins: run after changing a dependency, commit both.
PIP_COMPILE = $(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url \
	--no-emit-find-links --no-emit-trusted-host
lock: venv
	$(PIP_COMPILE) --output-file requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra dev --output-file requirements-dev.lock pyproject.toml

# Lint and types first (ruff; mypy on every package, strict on domain/, proofs/, projections/
# and reports/), then the suite with a throwaway
# PostgreSQL started for the run (scripts/with-postgres) and Debian's Chromium for the browser
# tests (scripts/ensure-chromium installs it when missing, as root).
test: venv lint
	scripts/ensure-chromium
	scripts/with-postgres $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

.PHONY: lint
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The embedded SQLite ledger under data/, the demo history if it is empty, then the web pages
# and the HTTP API (it prints the address).
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(RUNTIME)
	$(VENV)/bin/impress-ledger init
	$(VENV)/bin/impress-ledger demo --if-empty
	$(VENV)/bin/impress-ledger serve --dev --host $(HOST) --port $(PORT)

# Screenshots of the main pages into docs/screenshots/ (the browser tests, saving what they see).
.PHONY: screenshots
screenshots: venv
	scripts/ensure-chromium
	IMPRESS_SCREENSHOTS=1 $(VENV)/bin/python -m pytest -q tests/browser

# How long each web page takes to render (bench/pages.py): PAGES_SIZE=demo (default), smoke or S.
PAGES_SIZE ?= demo
.PHONY: page-timings
page-timings: venv
	$(VENV)/bin/python -m bench.pages --size $(PAGES_SIZE)

# The national-scale benchmark (docs/benchmarks.md): SIZE=smoke (default), S or M, on both
# databases (BENCH_DB=sqlite or postgres for one), with its own throwaway PostgreSQL, whose
# buffer cache is sized like a server's for a 1-2 GB database, not like the tests' 64 MB.
SIZE ?= smoke
PG_SHARED_BUFFERS ?= 1GB
BENCH_DB ?= sqlite,postgres
BENCH_ARGS ?=
.PHONY: bench
bench: venv
	scripts/ensure-wrk
	PG_SHARED_BUFFERS=$(PG_SHARED_BUFFERS) scripts/with-postgres $(VENV)/bin/python -m bench.run --size $(SIZE) --db $(BENCH_DB) $(BENCH_ARGS)
	$(VENV)/bin/python -m bench.report

# The first ~100 000 facts of a bench.generate history (the one `make bench` plays): the
# who-pays read model followed live, then rebuilt and verified against the live one (issue 3),
# and the hash chain verified (issue 5), on SQLite and on a throwaway PostgreSQL. Prints the
# figures; asserts nothing about time.
LOADTEST_EVENTS ?= 100000
.PHONY: loadtest
loadtest: venv
	rm -f /tmp/impress-loadtest.db
	$(VENV)/bin/python -m bench.loadtest --url sqlite:////tmp/impress-loadtest.db --events $(LOADTEST_EVENTS)
	scripts/with-postgres sh -c '$(VENV)/bin/python -m bench.loadtest --url "$$IMPRESS_TEST_POSTGRES_URL" --events $(LOADTEST_EVENTS)'
	scripts/with-postgres $(VENV)/bin/python -m bench.verify_chain --events $(LOADTEST_EVENTS)

# Sustained load (docs/reliability.md): a real server (uvicorn) on a new SQLite ledger, 8
# clients reading and writing, for SOAK_SECONDS (30 minutes); server memory every 10 s, p99
# per minute, errors. Writes the figures into docs/reliability.md. Not part of `make test`.
SOAK_SECONDS ?= 1800
SOAK_CLIENTS ?= 8
.PHONY: soak
soak: venv
	$(VENV)/bin/python -m bench.soak --seconds $(SOAK_SECONDS) --clients $(SOAK_CLIENTS) --docs
