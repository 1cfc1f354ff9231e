# The README's two commands: `make demo` (set up, then run the main job on the embedded
# defaults) and `make test` (set up, then ruff, the import contracts, mypy and the whole pytest
# suite). `make check` is the quick gate before a commit: the same lint and types, and the unit
# tests only (under a minute on two cores).
# Only Python 3.11 and make are assumed; everything else is installed from the lock.

PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced

export DO_NOT_TRACK := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
export WHYLOGS_NO_ANALYTICS := True
export FEAST_USAGE := False
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90

.PHONY: setup demo test check lint typecheck pytest lock data clean

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): requirements/lock.txt requirements/nodeps.txt pyproject.toml | $(TOOLS)/bin/uv
	test -x $(BIN)/python || $(TOOLS)/bin/uv venv --quiet --seed --python $(PYTHON) $(VENV)
	$(TOOLS)/bin/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements/lock.txt
	$(TOOLS)/bin/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -r requirements/nodeps.txt
	$(TOOLS)/bin/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

data: setup
	$(BIN)/mlops-spec demo-data
	$(BIN)/feast -c feature_repo apply

demo: data
	$(BIN)/mlops-spec validate specs/
	$(BIN)/mlops-spec plan specs/adult_income.yaml
	$(BIN)/mlops-spec run specs/adult_income.yaml || test $$? -eq 2
	$(BIN)/mlops-spec audit adult-income @challenger
	@echo "The demo's run in the Prefect UI: $$($(BIN)/mlops-spec server ui) (stop the server with: $(BIN)/mlops-spec server stop)"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/python -m pytest

test: lint typecheck pytest

check: lint typecheck
	$(BIN)/python -m pytest tests/unit -q

lock: | $(TOOLS)/bin/uv
	$(TOOLS)/bin/uv pip compile --quiet --python-version 3.11 requirements/dev.in -o requirements/lock.txt

clean:
	-test -x $(BIN)/mlops-spec && $(BIN)/mlops-spec server stop
	rm -rf .mlops
