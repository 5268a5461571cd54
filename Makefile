# The two commands the README opens with: `make up` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help up down sync test e2e setup lint docs bench bench-platform timeline screenshots clean

help:
	@echo "make up      a local cluster (kind, or the offline local node) with the platform installed and the example DAG run once"
	@echo "make down    remove that cluster (the local node keeps its data: it says where)"
	@echo "make sync    push the current branch's last commit to the cluster's DAG repository (git-sync picks it up)"
	@echo "make test    set up everything from nothing (make setup), then make lint and pytest over tests/ and images/*/tests/"
	@echo "make e2e     end-to-end suite: on KUBECONFIG's cluster, else on a local node built offline"
	@echo "make setup   the development environment: Debian packages, .venv, Helm (scripts/setup-dev.sh)"
	@echo "make lint    ruff, shellcheck, hadolint on every Dockerfile, helm lint --strict, the values docs check, checkov"
	@echo "make docs    regenerate chart/README.md's values table and values.schema.json's descriptions from values.yaml"
	@echo "make bench   pipeline vs the book (1,000,000 ratings); API page cost at 25M ratings"
	@echo "make bench-platform  the platform's speed (tests/e2e/test_03_platform_speed.py alone): warm runs, a 30-day backfill, idle memory"
	@echo "make timeline [RUN=RUN_ID]  where a DAG run's seconds went, task by task (default: the latest run)"
	@echo "make screenshots  the UI test alone in headless Chromium; refreshes the README's screenshot"
	@echo "make clean   remove the virtual environments and caches"

up:
	@scripts/up.sh

down:
	@scripts/down.sh

sync:
	@scripts/sync.sh

setup:
	@scripts/setup-dev.sh

lint: setup
	@scripts/lint.sh

docs: setup
	@scripts/chart-docs/chart-docs.sh

test: lint
	@echo "==> pytest"
	@$(VENV)/bin/pytest

e2e: setup
	@scripts/e2e.sh

bench: setup
	@$(VENV)/bin/python scripts/benchmark_pipeline.py
	@$(VENV)/bin/python scripts/benchmark_api_pages.py

bench-platform: setup
	@scripts/e2e.sh tests/e2e/test_03_platform_speed.py

timeline: setup
	@scripts/timeline.sh $(RUN)

screenshots: setup
	@E2E_README_SCREENSHOT=$(CURDIR)/tests/e2e/screenshots/airflow-dag-grid.png scripts/e2e.sh tests/e2e/test_09_ui_browser.py

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .ruff_cache scripts/chart-docs/node_modules
