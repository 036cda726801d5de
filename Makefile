# Frontdesk — developer entry points. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/sh

PYTHON_FOUND := $(shell scripts/find_python.sh)
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
PORT ?= 8000
export UV_PYTHON_DOWNLOADS ?= never
RUN := $(UV) run --frozen --no-sync

.PHONY: help run test bench screenshots lint format check vendor messages clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	@test -n "$(PYTHON_FOUND)" || { echo "Frontdesk needs Python >= 3.12 (none found on PATH or in pyenv)"; exit 1; }
	$(PYTHON_FOUND) scripts/bootstrap_uv.py

.venv/.synced: pyproject.toml uv.lock | $(UV)
	@test -n "$(PYTHON_FOUND)" || { echo "Frontdesk needs Python >= 3.12 (none found on PATH or in pyenv)"; exit 1; }
	$(UV) sync --frozen --python $(PYTHON_FOUND)
	@touch $@

run: .venv/.synced ## Migrate, seed demo data the first time, serve web + Celery worker + beat
	$(RUN) python manage.py migrate --no-input
	$(RUN) python manage.py seed_demo --if-empty
	$(RUN) python manage.py banner --port $(PORT)
	PORT=$(PORT) exec $(RUN) honcho start -f Procfile.dev

test: .venv/.synced ## Run the whole suite (SQLite, or DATABASE_URL / REDIS_URL when set)
	$(RUN) pytest $(PYTEST_ARGS)

bench: .venv/.synced ## Run the benchmarks and print BENCH lines
	@ls benchmarks/bench_*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }
	for b in benchmarks/bench_*.py; do $(RUN) python $$b || exit 1; done

screenshots: .venv/.synced ## Run the browser tests that photograph pages and copy the shots to docs/screenshots/
	$(RUN) pytest -q tests/e2e/test_journey.py tests/e2e/test_staff_day.py tests/e2e/test_for_you_browser.py tests/e2e/test_office_messages_browser.py tests/e2e/test_kiosk_browser.py tests/e2e/test_console_browser.py tests/e2e/test_inbox_browser.py tests/e2e/test_hired_browser.py tests/e2e/test_remote_join_browser.py tests/e2e/test_booking_browser.py
	mkdir -p docs/screenshots
	for f in test-artifacts/journey-*.png; do cp "$$f" "docs/screenshots/$${f#test-artifacts/journey-}"; done
	for f in test-artifacts/docs-*.png; do cp "$$f" "docs/screenshots/$${f#test-artifacts/docs-}"; done

lint: .venv/.synced ## ruff, formatting, migrations up to date, import layers (import-linter), mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) python manage.py makemigrations --check --dry-run
	$(RUN) lint-imports
	$(RUN) mypy

format: .venv/.synced ## Apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

vendor: ## Refresh vendored front-end files from npm (versions pinned in scripts/vendor.sh)
	scripts/vendor.sh

messages: .venv/.synced ## Refresh and compile the Spanish catalogue (needs GNU gettext)
	$(RUN) python manage.py makemessages -l es --ignore=.venv --ignore=staticfiles --ignore=tests --no-obsolete
	$(RUN) python manage.py compilemessages -l es --ignore=.venv

clean: ## Remove the environment and local state (var/: database, broker, logs)
	rm -rf .venv .tools var staticfiles
