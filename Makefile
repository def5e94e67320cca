# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
# Each creates .venv and installs what it needs when it is missing or pyproject.toml changed:
# `make demo` the `tools` extra (the siesa CLI, the local engine, the simulators), the
# checks the `dev` extra (which pulls `tools`). One stamp per extra, one rule for both.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TOOLS := $(VENV)/.installed-tools
DEV := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck maps unit coverage bench clean

$(VENV)/.installed-%: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$*]'
	@touch $@

demo: $(TOOLS)
	$(BIN)/siesa demo

test: lint typecheck maps unit

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV)
	$(BIN)/mypy

maps: $(DEV)
	$(BIN)/siesa map check --strict mappings/
	$(BIN)/siesa map fmt --check mappings/
	$(BIN)/siesa map test mappings/

unit: $(DEV)
	$(BIN)/pytest -n 2

# The same tests with line coverage: about a third slower, so not part of `make test`
# (which must stay under 10 minutes on a 2-core machine).
coverage: $(DEV)
	$(BIN)/pytest -n 2 --cov --cov-report=term-missing:skip-covered

bench: $(DEV)
	$(BIN)/python benchmarks/transform.py
	$(BIN)/python benchmarks/sync.py
	$(BIN)/python benchmarks/import_time.py
	$(BIN)/python benchmarks/checking.py

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .coverage
