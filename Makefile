# The two commands a newcomer needs: `make dev` and `make test`.
# Both first run scripts/bootstrap.sh, which installs whatever is missing.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Port of the local platform: make dev PORT=8080 (or RSP_DEV_PORT=8080).
RSP_DEV_PORT ?= 8000
PORT ?= $(RSP_DEV_PORT)

BIN := .venv/bin
export UV_PYTHON_DOWNLOADS := never

# Every Python package of the repository, type-checked one at a time.
PACKAGES := $(wildcard services/*/src services/*/tests operator/src operator/tests)
TOP_LEVEL := $(wildcard tests benchmarks)
BENCHMARKS := $(sort $(wildcard benchmarks/*))

.PHONY: help bootstrap dev test lint format typecheck pytest bench clean distclean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

bootstrap:  ## Install what is missing (Debian packages, uv, .venv, npm)
	@scripts/bootstrap.sh

dev: bootstrap  ## Run the platform locally at http://localhost:$(PORT)
	@$(BIN)/rsp-platform dev --port $(PORT)

test: bootstrap  ## Lint, type-check and run every test; fails on any problem
	@$(MAKE) --no-print-directory --keep-going lint typecheck pytest

lint:  ## ruff check and ruff format --check
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	exit $$status

format:  ## Fix what ruff can fix and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck:  ## mypy --strict on every package
	@failed=""; for package in $(PACKAGES) $(TOP_LEVEL); do \
		echo "mypy --strict $$package"; \
		$(BIN)/mypy --strict "$$package" || failed="$$failed $$package"; \
	done; \
	if [[ -n "$$failed" ]]; then echo "mypy found errors in:$$failed"; exit 1; fi

pytest:  ## Run the tests (PYTEST_ARGS="-k name" to select)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: bootstrap  ## Run the benchmarks in benchmarks/
	@if [[ -z "$(BENCHMARKS)" ]]; then \
		echo "No benchmarks yet: each benchmarks/<name> (script or directory with a run script) is run here."; \
	else \
		for bench in $(BENCHMARKS); do \
			if [[ -d $$bench && -x $$bench/run ]]; then echo "== $$bench"; $$bench/run; \
			elif [[ -f $$bench && -x $$bench ]]; then echo "== $$bench"; $$bench; \
			elif [[ $$bench == *.py ]]; then echo "== $$bench"; $(BIN)/python $$bench; \
			else echo "-- $$bench (not runnable: make it executable or add a run script)"; fi; \
		done; \
	fi

clean:  ## Remove local state and caches (.dev, tool caches); keeps .venv and .tools
	rm -rf .dev .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -not -path './.venv/*' -not -path './.tools/*' -prune -exec rm -rf {} +

distclean: clean  ## Also remove .venv, .tools and node_modules
	rm -rf .venv .tools node_modules
