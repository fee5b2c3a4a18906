# Two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Nothing may reach a model hub at run time; weights load from local paths only.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export YOLO_OFFLINE := 1
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo test test-fast ui lint format bench clean browser

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/labelgate demo

test: install browser
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not postgres"

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/text_throughput.py
	$(BIN)/python bench/gate_real.py
	$(BIN)/python bench/image_throughput.py
	$(BIN)/python bench/distill.py
	$(BIN)/python bench/pii_eval.py
	$(BIN)/python bench/scale.py

# One Celery worker: one step at a time, so one encoder per worker process. Start as many as
# there are machines (or cores / GPUs); the settings come from deploy/celery.env.
.PHONY: workers
workers: install
	$(BIN)/celery -A pipelines.celery_worker worker --concurrency=1 --prefetch-multiplier=1 \
		-Q $${LABELGATE_CELERY_QUEUE:-labelgate} --loglevel=$${LABELGATE_WORKER_LOG_LEVEL:-INFO}


# Chromium for the browser test (Debian package; Playwright uses it via executable_path).
# Outside CI a failed install only makes that test skip (loudly); under CI it fails.
browser:
	bash scripts/install_browser.sh || [ -z "$$CI" ]

clean:
	rm -rf var .dagster_home .pytest_cache .ruff_cache
