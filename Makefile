# capability-registry: the two-command quickstart is `make demo` and `make test`.
# Both create .venv and install on first use; they need only Python 3.11 and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo's registry calls the demo fleet upstream on 127.0.0.1:8765 (the fixture's baseUri).
# The web and MCP servers listen on DEMO_PORT and DEMO_MCP_PORT.
DEMO_FLEET_TOKEN ?= demo-fleet-token
DEMO_PORT ?= 8000
DEMO_MCP_PORT ?= 9090
DEMO_ENV := DEBUG=true FLEET_TOKEN=$(DEMO_FLEET_TOKEN) REGISTRY_UPSTREAM_ALLOWED_NETWORKS=127.0.0.0/8 \
	REGISTRY_PUBLIC_URL=http://127.0.0.1:$(DEMO_PORT) \
	REGISTRY_MCP_PUBLIC_URL=http://127.0.0.1:$(DEMO_MCP_PORT)
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: install demo test test-fast test-sqlite test-postgres lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) .env

# A .env for local use, written once when there is none (an existing one is never
# touched): .env.example with DEBUG on and a SECRET_KEY of its own, so that
# `python manage.py ...` runs in a fresh clone. Production sets its environment instead.
.env:
	@key=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))') && \
	sed -e 's/^DEBUG=.*/DEBUG=true/' -e "s/^SECRET_KEY=.*/SECRET_KEY=$$key/" .env.example > .env.tmp && \
	mv .env.tmp .env && \
	echo "wrote .env for local use (DEBUG=true, a generated SECRET_KEY); edit it, or delete it to get a new one"

# One shell runs the whole demo: the upstream and the web server run in the background
# and the traps end both whichever way the demo stops (Ctrl-C, TERM, a failed step).
# Every REST and MCP call needs a client key: create_demo_client_key prints one (a new
# one each run unless DEMO_CLIENT_KEY is set) and the curl lines below use it.
demo: install
	@set -e; export $(DEMO_ENV); upstream=; web=; mcp=; \
	trap 'kill $$web $$mcp $$upstream 2>/dev/null || true; wait' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP; \
	$(BIN)/python manage.py run_demo_upstream --port 8765 --token "$$FLEET_TOKEN" & upstream=$$!; \
	$(BIN)/python manage.py migrate --verbosity 0; \
	$(BIN)/python manage.py import_capability --keep-edited fixtures/; \
	$(BIN)/python manage.py create_demo_admin; \
	key=$$($(BIN)/python manage.py create_demo_client_key); \
	kill -0 $$upstream 2>/dev/null || { echo "the demo upstream did not start (port 8765 busy?)" >&2; exit 1; }; \
	echo "Catalog: http://127.0.0.1:$(DEMO_PORT)/  (every capability, its REST operations and MCP tools, ready to call)"; \
	echo "Admin: http://127.0.0.1:$(DEMO_PORT)/admin/  (Ctrl-C stops the demo and its upstream)"; \
	echo "Registry API: http://127.0.0.1:$(DEMO_PORT)/api/v1/  (Swagger UI at /api/v1/docs/; OpenAPI of a REST expose at /rest/fleet-api/openapi.json, docs at /rest/fleet-api/docs)"; \
	echo "Client key (every REST and MCP call needs one; Authorization: Bearer or X-API-Key):"; \
	echo "  export KEY=$$key"; \
	echo "REST (fleet-api, answered by the demo upstream on 127.0.0.1:8765):"; \
	echo '  curl -H "Authorization: Bearer $$KEY" http://127.0.0.1:$(DEMO_PORT)/rest/fleet-api/ships'; \
	echo '  curl -H "Authorization: Bearer $$KEY" http://127.0.0.1:$(DEMO_PORT)/rest/fleet-api/ships/IMO9321483'; \
	echo '  curl -H "Authorization: Bearer $$KEY" "http://127.0.0.1:$(DEMO_PORT)/rest/fleet-api/ships?status=active"'; \
	echo "MCP Registry API (server.json of every MCP expose): http://127.0.0.1:$(DEMO_PORT)/v0.1/servers"; \
	echo "MCP (streamable HTTP, every MCP expose): http://127.0.0.1:$(DEMO_MCP_PORT)/mcp/fleet-tools/mcp"; \
	echo '  connect with the header "Authorization: Bearer $$KEY", e.g. with the MCP Inspector CLI:'; \
	echo '  npx @modelcontextprotocol/inspector --cli http://127.0.0.1:$(DEMO_MCP_PORT)/mcp/fleet-tools/mcp --transport http --header "Authorization: Bearer $$KEY" --method tools/list'; \
	$(BIN)/python manage.py run_mcp_server --port $(DEMO_MCP_PORT) 2>/dev/null & mcp=$$!; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(DEMO_PORT) & web=$$!; \
	wait $$web

# mypy reads its files and settings from pyproject.toml ([tool.mypy]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-sqlite: install
	DATABASE_URL= $(BIN)/pytest

test-postgres: install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest

# The inner loop: every test that starts no process (the `processes` marker, see
# CONTRIBUTING.md), on SQLite, spread over the cores (each file stays in one worker).
test-fast: install
	DATABASE_URL= $(BIN)/pytest -q -m "not processes" -n auto --dist loadfile

# CI=true adds the PostgreSQL leg; it must run there, never skip.
test: lint test-sqlite
	@if [ "$(CI)" = "true" ]; then $(MAKE) --no-print-directory test-postgres; fi

# The benchmarks' own extra (FastMCP, a baseline of mcp_baselines.py), installed once.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	$(BIN)/python bench/import_scale.py
	$(BIN)/python bench/rest_overhead.py
	$(BIN)/python bench/rest_baselines.py
	$(BIN)/python bench/mcp_baselines.py
	$(BIN)/python bench/mcp_overhead.py
	$(BIN)/python bench/async_overhead.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache .ruff_cache .mypy_cache
