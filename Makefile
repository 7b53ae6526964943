# Tongxin (同心). `make demo` runs the platform; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
PYTEST_ARGS ?=

.PHONY: install demo serve test test-sqlite test-postgresql lint browser-deps clean

install: $(STAMP)

# Re-installs only when pyproject.toml changes, so a second `make` is quick.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tongxin needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/tongxin demo up

serve: install
	$(BIN)/tongxin db upgrade
	$(BIN)/tongxin serve

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Browser tests drive Debian's Chromium; install it when we may (root with apt).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "browser tests need /usr/bin/chromium: sudo apt-get install chromium fonts-noto-cjk"; exit 1; fi; \
	fi

test: lint browser-deps test-sqlite test-postgresql

test-sqlite: install
	TONGXIN_TEST_ENGINE=sqlite $(BIN)/pytest $(PYTEST_ARGS)

# Runs when TONGXIN_TEST_DATABASE_URL is set; CI sets TONGXIN_REQUIRE_POSTGRESQL=1 so a
# missing URL fails instead of silently skipping the PostgreSQL half.
test-postgresql: install
	@if [ -n "$$TONGXIN_TEST_DATABASE_URL" ]; then \
	  TONGXIN_TEST_ENGINE=postgresql $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$TONGXIN_REQUIRE_POSTGRESQL" = 1 ]; then \
	  echo "TONGXIN_TEST_DATABASE_URL is not set: the PostgreSQL half did not run"; exit 1; \
	else echo "PostgreSQL half skipped: set TONGXIN_TEST_DATABASE_URL=postgresql://user@host/db to run it"; fi

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
