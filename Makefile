# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
# Each creates .venv and installs what it needs when it is missing or pyproject.toml changed:
# `make demo` the `tools` extra (the siesa CLI, the local engine, the simulators), the
# checks the `dev` extra (which pulls `tools`). One stamp per extra, one rule for both.
# checkov gets a virtualenv of its own, .venv-checkov (its pins conflict with ours), made
# afresh from .ci/checkov-requirements.txt when that file changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TOOLS := $(VENV)/.installed-tools
DEV := $(VENV)/.installed-dev
CHECKOV_VENV := .venv-checkov
CHECKOV_PINS := .ci/checkov-requirements.txt
CHECKOV := $(CHECKOV_VENV)/.installed
# What the wheel ships: the packages mypy checks (pyproject.toml, [tool.mypy]).
PACKAGES := dsl compiler contract runtime ops local cli editor playground infra mappings

.PHONY: demo test lint typecheck static checkov bandit maps browser unit coverage bench clean

$(VENV)/.installed-%: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$*]'
	@touch $@

$(CHECKOV): $(CHECKOV_PINS)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r $(CHECKOV_PINS)
	@touch $@

demo: $(TOOLS)
	$(BIN)/siesa demo

test: lint typecheck static maps unit

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV)
	$(BIN)/mypy

# Security linters, clean or the build fails; every suppression says why where it is made
# (docs/security.md, row 12; tests/architecture/test_suppressions.py).
static: checkov bandit

# Offline: no API key, no download of external checks or guidelines, no update check.
# A template checkov cannot parse fails too (by default it would pass, having checked nothing).
checkov: $(CHECKOV)
	env -u BC_API_KEY BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true CKV_PARSE_ERROR_FAIL=true \
		$(CHECKOV_VENV)/bin/checkov -f infra/template.yaml --framework cloudformation \
		--skip-download --compact --quiet

# The shipped packages; tests/ and benchmarks/ are not scanned (see [tool.bandit]).
bandit: $(DEV)
	$(BIN)/bandit -c pyproject.toml -q -r $(PACKAGES)

maps: $(DEV)
	$(BIN)/siesa map check --strict mappings/
	$(BIN)/siesa map fmt --check mappings/
	$(BIN)/siesa map test mappings/

# The playground's browser tests (tests/playground/test_browser.py) drive Debian's headless
# Chromium through its chromedriver. Installed here when missing and we are root or may sudo
# without a password; otherwise those tests skip and say what to install.
BROWSER_PACKAGES := chromium chromium-driver

browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing $(BROWSER_PACKAGES) for the browser tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; } \
			|| echo "note: could not install $(BROWSER_PACKAGES): the browser tests will skip"; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		echo "installing $(BROWSER_PACKAGES) for the browser tests"; \
		{ sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; } \
			|| echo "note: could not install $(BROWSER_PACKAGES): the browser tests will skip"; \
	else echo "note: the browser tests will skip: install $(BROWSER_PACKAGES) (apt-get, as root)"; fi

# worksteal: a worker that runs out of tests takes some of the other's, so the slow
# end-to-end tests do not leave one core idle at the end.
unit: $(DEV) browser
	$(BIN)/pytest -n 2 --dist worksteal

# The same tests with line coverage: about a third slower, so not part of `make test`
# (which must stay under 10 minutes on a 2-core machine).
coverage: $(DEV) browser
	$(BIN)/pytest -n 2 --cov --cov-report=term-missing:skip-covered

bench: $(DEV)
	$(BIN)/python benchmarks/transform.py
	$(BIN)/python benchmarks/sync.py
	$(BIN)/python benchmarks/stock.py
	$(BIN)/python benchmarks/import_time.py
	$(BIN)/python benchmarks/checking.py
	$(BIN)/python benchmarks/aws_usage.py
	$(BIN)/python benchmarks/lambda_sandbox.py
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .coverage
