# Two commands: `make run` and `make test`. Everything they need is set up here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite runs in two worker processes (pytest-xdist); each has its own PostgreSQL schema.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: run test bench lint clean setup

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/loyalty serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pytest tests/bench -p no:randomly -s $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check core adapters bot tests
	$(BIN)/mypy core adapters

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
