# The two commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test install lint services bench

# The test environment also gets a third-party plugin package (found through its entry point).
$(INSTALLED): pyproject.toml tests/plugin_package/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet ./tests/plugin_package
	./deploy/fetch_assets.sh
	touch $(INSTALLED)

install: $(INSTALLED)

run: install
	$(BIN)/python manage.py up

services:
	./tests/ensure_services.sh

test: install services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
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
