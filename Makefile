# scopegate — developer and CI entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# Targets run in the order written, even under `make -j`.
.NOTPARALLEL:

# Test tools live outside the repository (test/tools/install.sh); put kubectl, helm (and promtool,
# from Debian, already in /usr/bin) on PATH for every recipe.
SCOPEGATE_CACHE ?= $(HOME)/.cache/scopegate
export SCOPEGATE_CACHE
export PATH := $(SCOPEGATE_CACHE)/bin:/usr/local/go/bin:$(PATH)
# Helm 3, built by install.sh beside Helm 4, for the chart's Helm 3 compatibility tests.
SCOPEGATE_HELM3 ?= $(SCOPEGATE_CACHE)/bin/helm3
export SCOPEGATE_HELM3

E2E_TESTS := $(shell find test/e2e -name '*.test.ts' 2>/dev/null)
CLUSTER_CLI_JS := dist/test/support/cluster-cli.js
CLUSTER_CLI := node $(CLUSTER_CLI_JS)

.PHONY: help tools build gen check-gen lint typecheck test-unit test-integration test-e2e test \
	cluster-up cluster-down demo clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-18s %s\n", $$1, $$2 }'

tools: ## Install kube-apiserver, etcd, kubectl, helm 4 and 3, promtool (cached) and node_modules
	@bash test/tools/install.sh

build: ## Compile TypeScript into dist/
	npm run build

gen: build ## Regenerate the CRD YAML in crds/ from crds/src
	npm run gen

check-gen: build ## Fail when the generated CRD YAML is stale
	npm run gen:check

lint: ## eslint + prettier --check
	npm run lint

typecheck: ## tsc --noEmit
	npm run typecheck

test-unit: ## Unit tests (no network)
	npm run test:unit

test-integration: ## Integration tests against a real kube-apiserver + etcd
	npm run test:integration

test-e2e: ## End-to-end tests (helm chart, real authorization server, Prometheus)
	npm run test:e2e

# What CI runs. e2e only once test/e2e has test files.
test: tools build check-gen lint test-unit test-integration $(if $(E2E_TESTS),test-e2e) ## Everything CI checks

cluster-up: $(CLUSTER_CLI_JS) ## Start a long-lived local control plane; prints `export KUBECONFIG=...`
	@bash test/tools/install.sh >&2
	@$(CLUSTER_CLI) up

cluster-down: $(CLUSTER_CLI_JS) ## Stop the control plane started by cluster-up
	@$(CLUSTER_CLI) down

# Built by the project-wide `npm run build`, only when missing or older than its sources.
$(CLUSTER_CLI_JS): test/support/cluster-cli.ts test/support/control-plane.ts
	npm run build

demo: tools build ## Run the whole system locally with a real identity provider; Ctrl-C stops it
	@node dist/test/demo/demo.js

clean: ## Remove build output (keeps the tool cache)
	rm -rf dist coverage
