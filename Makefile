# capability-registry: the two-command quickstart is `make demo` and `make test`.
# Both create .venv and install on first use; they need only Python 3.11 and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ENV := DEBUG=true
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: install demo test test-sqlite test-postgres lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --verbosity 0
	$(DEMO_ENV) $(BIN)/python manage.py import_capability fixtures/
	$(DEMO_ENV) $(BIN)/python manage.py create_demo_admin
	@echo "Admin: http://127.0.0.1:8000/admin/  (Ctrl-C stops the demo)"
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-sqlite: install
	DATABASE_URL= $(BIN)/pytest

test-postgres: install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest

# CI=true adds the PostgreSQL leg; it must run there, never skip.
test: lint test-sqlite
	@if [ "$(CI)" = "true" ]; then $(MAKE) --no-print-directory test-postgres; fi

bench: install
	$(BIN)/python bench/import_scale.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache .ruff_cache
