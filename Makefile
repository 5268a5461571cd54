# The two commands the README opens with: `make up` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help up down test e2e setup lint bench clean

help:
	@echo "make up      local kind cluster with the platform installed and the example DAG run once"
	@echo "make down    delete that cluster"
	@echo "make test    set up everything from nothing and run the whole test suite"
	@echo "make e2e     end-to-end suite: on KUBECONFIG's cluster, else on a local node built offline"
	@echo "make lint    ruff, helm lint, checkov"
	@echo "make bench   pipeline vs the book (1,000,000 ratings); API page cost at 25M ratings"

up:
	@scripts/up.sh

down:
	@scripts/down.sh

setup:
	@scripts/setup-dev.sh

lint: setup
	@echo "==> ruff"
	@$(VENV)/bin/ruff check .
	@echo "==> helm lint --strict"
	@for v in "" values/*.yaml; do \
	  helm lint --strict chart $${v:+-f $$v} >/dev/null || { helm lint --strict chart $${v:+-f $$v}; exit 1; }; \
	done
	@echo "==> checkov (rendered chart)"
	@scripts/checkov.sh

test: lint
	@echo "==> pytest"
	@$(VENV)/bin/pytest

e2e: setup
	@scripts/e2e.sh

bench: setup
	@$(VENV)/bin/python scripts/benchmark_pipeline.py
	@$(VENV)/bin/python scripts/benchmark_api_pages.py

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .ruff_cache
