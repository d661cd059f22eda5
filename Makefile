# The two commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.installed-test

.PHONY: run test install install-test lint services bench

# What mediahub itself needs.
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	./deploy/fetch_assets.sh
	touch $(INSTALLED)

# The tests' extras, and a third-party plugin package (found through its entry point).
$(TEST_INSTALLED): $(INSTALLED) tests/plugin_package/pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet ./tests/plugin_package
	touch $(TEST_INSTALLED)

install: $(INSTALLED)

install-test: $(TEST_INSTALLED)

# The test-only plugin must not show up in a running mediahub (make test installs it again).
run: install
	@if [ -f $(TEST_INSTALLED) ]; then \
		$(BIN)/pip uninstall --quiet --yes mediahub-test-plugin && rm -f $(TEST_INSTALLED); fi
	$(BIN)/python manage.py up

services:
	./tests/ensure_services.sh

test: install-test services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install-test
	$(BIN)/python benchmarks/api_latency.py
	$(BIN)/python benchmarks/hls_ratio.py
	$(BIN)/python benchmarks/upload_memory.py
	$(BIN)/python benchmarks/tasks.py
	$(BIN)/python benchmarks/webhooks.py
	$(BIN)/python benchmarks/embeddings.py
	$(BIN)/python benchmarks/images.py
	$(BIN)/python benchmarks/cli_upload.py
	$(BIN)/python benchmarks/commands.py
	$(BIN)/python benchmarks/slow_clients.py
	$(BIN)/python benchmarks/plugins.py
