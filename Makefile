# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
# Each creates .venv and installs what it needs when it is missing or pyproject.toml changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck maps unit bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/siesa demo

test: lint typecheck maps unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

maps: $(STAMP)
	$(BIN)/siesa map check mappings/
	$(BIN)/siesa map fmt --check mappings/
	$(BIN)/siesa map test mappings/

unit: $(STAMP)
	$(BIN)/pytest -n 2 --cov --cov-report=term-missing:skip-covered

bench: $(STAMP)
	$(BIN)/python benchmarks/transform.py
	$(BIN)/python benchmarks/sync.py
	$(BIN)/python benchmarks/import_time.py

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .coverage
