# Product Reviews API: `make up` runs it on a local AWS emulator, `make test` proves it.
# Every target installs what it needs first (pipenv, the locked Python packages, cdktf-cli).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
# The tool settings pipenv also loads (.env), so make and `pipenv run cdktf ...` agree.
PWD := $(CURDIR)
include .env
export $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' .env)

PYTHON := .venv/bin/python

step = @printf '\n==> %s\n' $(1)

.PHONY: help deps jsii-cache synth test lint lint-code format-check fmt up down api-key reviewers plan bench clean docs

help:
	@echo "make up     deploy the stack to a local AWS emulator and serve the API on localhost"
	@echo "make down   destroy the local deployment and stop the emulator and gateway"
	@echo "make api-key  print the local storefront API key (never written to a file)"
	@echo "make reviewers  new passwords for the local demo reviewers, printed (never written to a file)"
	@echo "make test   install everything and run the test suite"
	@echo "make lint   ruff (lint and format check) and mypy (--strict for handlers/)"
	@echo "make fmt    format with ruff and apply its safe fixes"
	@echo "make synth  write cdktf.out/stacks/<stack>/cdk.tf.json"
	@echo "make plan   plan the target (emulator by default) and write a review: build/plan/<env>/review.md"
	@echo "make bench  measure synth, handler and gateway: benchmarks/results.md"
	@echo "make docs   regenerate docs/openapi.json (the API's OpenAPI 3.1 document)"

# The installs are kept outside the clone, in MACHINE_CACHE (.env), under the hash of the lock
# file they install: the first clone on a machine installs, every later one (a CI run's fresh
# clone too) links the kept copy in within seconds (scripts/keyed_install.sh).
PYTHON_KEY := $(shell sha256sum Pipfile.lock | cut -c1-16)
PYTHON_PACKAGES := $(MACHINE_CACHE)/python-$(PYTHON_KEY)
NODE_PACKAGES := $(MACHINE_CACHE)/node-$(shell sha256sum package-lock.json | cut -c1-16)

.venv/.synced: Pipfile.lock
	$(call step,"Python packages: pipenv sync --dev (Pipfile.lock; kept in $(PYTHON_PACKAGES))")
	@python3 -m pipenv --version >/dev/null 2>&1 || { echo "installing pipenv"; python3 -m pip install --quiet pipenv; }
	@time scripts/keyed_install.sh $(PYTHON_PACKAGES) .venv Pipfile Pipfile.lock -- python3 -m pipenv sync --dev
	@touch $@

node_modules/.installed: package-lock.json
	$(call step,"Node packages: npm ci (cdktf-cli 0.21.0; kept in $(NODE_PACKAGES))")
	@time scripts/keyed_install.sh $(NODE_PACKAGES) node_modules package.json package-lock.json -- \
	  npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# `pipenv run cdktf ...` and `pipenv shell`: the pinned cdktf-cli, on the virtualenv's PATH.
.venv/bin/cdktf: .venv/.synced node_modules/.installed
	@ln -sf ../../node_modules/.bin/cdktf $@

.terraformrc: scripts/terraformrc.sh
	$(call step,"Terraform CLI configuration")
	@scripts/terraformrc.sh $@

# jsii writes the runtime index that keeps every synth under a second (instead of ~2.5 s and
# ~1.1 GB) only while a kernel stays up for seconds after loading a package, which a synth
# never does: this step loads what a synth loads and waits for it (stacks/jsii_cache.py).
# The stamp lives in the cache, so removing the cache folder brings the step back.
# The packages come from the Python ones, so the cache is kept per machine under the same key.
JSII_CACHE_READY = $(JSII_RUNTIME_PACKAGE_CACHE_ROOT)/.ready
JSII_PACKAGES := $(MACHINE_CACHE)/jsii-$(PYTHON_KEY)
$(JSII_CACHE_READY): .venv/.synced
	$(call step,"jsii package cache with its runtime index ($(JSII_RUNTIME_PACKAGE_CACHE_ROOT); kept in $(JSII_PACKAGES))")
	@scripts/keyed_install.sh $(JSII_PACKAGES) $(JSII_RUNTIME_PACKAGE_CACHE_ROOT) -- \
	  env JSII_RUNTIME_PACKAGE_CACHE_ROOT=$(JSII_PACKAGES)/$(notdir $(JSII_RUNTIME_PACKAGE_CACHE_ROOT)) \
	  PYTHONPATH=$(CURDIR) $(CURDIR)/$(PYTHON) -m stacks.jsii_cache
	@touch $@

jsii-cache: $(JSII_CACHE_READY)

# The installs do not depend on each other: deps runs them at once (their lines interleave,
# each line whole), and so does test-deps, which adds what only the tests need.
DEPS := .venv/.synced node_modules/.installed .venv/bin/cdktf .terraformrc $(JSII_CACHE_READY)
deps:
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=line $(DEPS)

test-deps:
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=line $(DEPS) checkov chromium

# --- Lint, format and types (settings in pyproject.toml; docs/contributing.md) ----------
# The same commands run on commit after `pre-commit install` (.pre-commit-config.yaml).
RUFF := .venv/bin/ruff
MYPY := .venv/bin/mypy
# mypy's default mode (with check_untyped_defs); handlers/ gets --strict on its own.
MYPY_PATHS := stacks deploy localaws benchmarks main.py tests
lint: lint-code format-check

lint-code: .venv/.synced
	$(call step,"Lint and types: ruff check; mypy --strict handlers; mypy")
	@$(RUFF) check .
	@$(MYPY) --strict handlers
	@$(MYPY) $(MYPY_PATHS)

format-check: .venv/.synced
	$(call step,"Formatting: ruff format --check")
	@$(RUFF) format --check .

# Safe fixes first, as ruff advises (a fix can leave code unformatted); what cannot be
# fixed is listed and left for make lint to fail on.
fmt: .venv/.synced
	@$(RUFF) check --fix --exit-zero .
	@$(RUFF) format .

synth: deps
	$(call step,"Synthesizing the stack")
	@time $(PYTHON) main.py
	@echo "wrote cdktf.out/stacks/ (one folder per stack)"

# Lint first: it takes seconds. The tests run in TEST_WORKERS processes (pytest-xdist), a test
# file at a time each, so that a module's deployment stays in one process; tests/conftest.py
# puts the slowest files first (the order is kept: --no-loadscope-reorder).
TEST_WORKERS ?= 2
test: test-deps lint
	$(call step,"Running the tests")
	@time $(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# docs/openapi.json is generated from the contract (stacks/openapi.py); a test fails when it is stale.
docs: .venv/.synced
	@$(PYTHON) -m stacks.openapi > docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json
	@echo "wrote docs/openapi.json"

clean:
	rm -rf cdktf.out build .pytest_cache .hypothesis .mypy_cache .ruff_cache

up: deps
	@$(PYTHON) -m deploy up

down: deps
	@$(PYTHON) -m deploy down

api-key: deps
	@$(PYTHON) -m deploy api-key

reviewers: deps
	@$(PYTHON) -m deploy reviewers

# Synth from empty jsii caches vs the predecessor's AWS CDK app, handler, gateway: writes
# benchmarks/results.md (+ .json). BENCH_RUNS, BENCH_FRESH_CACHES, BENCH_COLD_START_RUNS,
# BENCH_GATEWAY_SECONDS, BENCH_MAKE_TEST=1, BENCH_PREDECESSOR_APP: see benchmarks/run.py.
bench: deps
	$(call step,"Benchmarks (several minutes): benchmarks/results.md")
	@$(PYTHON) benchmarks/run.py

# --- Terraform plan review and security scan (docs/plan-review.md) ---------------------
# checkov lives in its own virtualenv, installed once per machine (CHECKOV in .env names it,
# and its version): its pinned dependencies (boto3 1.35, packaging 23) would fight Pipfile.lock.
# make test also runs the checkov gate (tests/test_security_scan.py) and actionlint.
CHECKOV_VENV := $(CHECKOV:%/bin/checkov=%)
# checkov-<version>
CHECKOV_RELEASE := $(notdir $(CHECKOV_VENV))
PLAN_DIR := build/plan

.PHONY: checkov test-deps
$(CHECKOV_VENV)/.installed:
	$(call step,"$(CHECKOV_RELEASE) in its own virtualenv: once per machine ($(CHECKOV_VENV))")
	@rm -rf $(CHECKOV_VENV) && python3 -m venv $(CHECKOV_VENV)
	@time $(CHECKOV_VENV)/bin/pip install -qq --disable-pip-version-check '$(subst -,==,$(CHECKOV_RELEASE))'
	@touch $@

checkov: $(CHECKOV_VENV)/.installed

# The browser test (tests/test_storefront.py) drives Debian's Chromium: make test installs it,
# once per machine, as root, when it is missing. If it cannot, it says so and the test fails
# (it is never skipped).
.PHONY: chromium
chromium:
	@if ! command -v chromium >/dev/null; then \
	  printf '\n==> %s\n' "Chromium for the browser test: apt-get update && apt-get install -y chromium"; \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "cannot install chromium: not root (sudo apt-get install -y chromium); tests/test_storefront.py will fail" >&2; \
	  elif ! { apt-get update && apt-get install -y chromium; }; then \
	    echo "could not install chromium (see above); tests/test_storefront.py will fail" >&2; \
	  fi; \
	fi


# make plan: `python -m deploy plan` (deploy/ci.py): synth, init, plan and review
# ENVIRONMENT_SUFFIX (default dev) on REVIEWS_TARGET (default local: the emulator on
# REVIEWS_EMULATOR_PORT, started as make up starts it and stopped again if it was not
# running; aws needs credentials for the environment's account). Writes
# $(PLAN_DIR)/<environment>/plan.bin (+ plan-record.json, for python -m deploy apply),
# plan.json, plan.txt, checkov.json and review.md (0600, secrets redacted except in
# plan.bin); fails on unskipped findings. PLAN_ARGS=--no-lock plans without taking the
# state lock (read-only CI role); PLAN_ARGS="--replace ADDRESS" plans a replacement.
plan: deps checkov
	@$(PYTHON) -m deploy plan --out "$(PLAN_DIR)/$${ENVIRONMENT_SUFFIX:-dev}" $${PLAN_ARGS:-}
