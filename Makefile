# replnode — build, generate, lint and test.
#
# `make help` lists the targets. Every tool is built from the Go module proxy at
# a pinned version into bin/, so a fresh clone needs only Go, git, make and (for
# `make test`) Debian's apt for the real redis-server the compatibility tests
# compare against.

# Recipes run in bash with -e and pipefail, so a failing command in a pipe
# (go test | tee) fails the target.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# ------ LOCATIONS AND PINS ------

# Absolute repository root, so exported paths work from any test's directory.
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BIN := $(ROOT)/bin

# Kubernetes version of the source-built control plane (pinned in hack/k8s/go.mod).
K8S_VERSION := $(shell $(ROOT)/hack/k8s/build.sh --print-version)
K8S_BIN_DIR := $(BIN)/k8s/$(K8S_VERSION)

# Tool pins live in separate modules, so the main go.mod stays clean:
# controller-gen in hack/tools/go.mod, golangci-lint in
# hack/tools/golangci-lint/go.mod (its dependency graph clashes with
# controller-tools' k8s graph when both share one module). Both use Go `tool`
# directives and are checksum-verified by their go.sum. helm is pinned here and
# installed as-is with `go install`.
TOOLS_DIR := $(ROOT)/hack/tools
LINT_TOOLS_DIR := $(TOOLS_DIR)/golangci-lint
CONTROLLER_GEN := $(BIN)/controller-gen
GOLANGCI_LINT := $(BIN)/golangci-lint
HELM_VERSION := v3.22.0
HELM := $(BIN)/helm

# go test settings for `make test`: every package, no cached results, and a
# timeout generous enough for envtest and replication suites on a loaded
# 2-core machine.
TEST_TIMEOUT ?= 40m
TEST_FLAGS ?=
TEST_LOG := $(BIN)/test.log

# ------ HELP ------

.PHONY: help
help: ## Show the targets and what they do.
	@echo "Usage: make <target>"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ------ BUILD ------

.PHONY: build
build: ## Build bin/manager (the operator), bin/replnode (the Redis-compatible server) and bin/kubectl-replnode (the kubectl plugin).
	go build -o $(BIN)/manager ./cmd/manager
	go build -o $(BIN)/replnode ./cmd/replnode
	go build -o $(BIN)/kubectl-replnode ./cmd/kubectl-replnode

.PHONY: fmt
fmt: ## Format all Go code in place with gofmt.
	git ls-files -z -co --exclude-standard '*.go' | xargs -0 -r gofmt -l -w

.PHONY: vet
vet: ## Run go vet on every package of the main module.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (pinned, built into bin/) with hack/tools/golangci.yml.
	$(GOLANGCI_LINT) run --config $(TOOLS_DIR)/golangci.yml ./...

# ------ CODE GENERATION ------

# Only directories that hold Go files are handed to controller-gen, so the
# targets do nothing (instead of failing) while api/ or controllers/ are empty.
API_PKGS := $(shell cd $(ROOT) && hack/tools/gopkgs.sh ./api)
MANIFEST_PKGS := $(shell cd $(ROOT) && hack/tools/gopkgs.sh ./api ./controllers)

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Write CRDs to config/crd/bases, RBAC to config/rbac and the validating webhook to config/webhook from api/ and controllers/ markers.
ifeq ($(MANIFEST_PKGS),)
	@echo "manifests: api/ and controllers/ hold no Go files yet, nothing to generate"
else
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="$(MANIFEST_PKGS)" \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac \
		output:webhook:artifacts:config=config/webhook
endif

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Write DeepCopy methods (zz_generated.deepcopy.go) for the api/ types.
ifeq ($(API_PKGS),)
	@echo "generate: api/ holds no Go files yet, nothing to generate"
else
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="$(API_PKGS)"
endif

# ------ TOOLS ------

# Tool binaries are rebuilt when their pinning go.mod/go.sum change.
$(CONTROLLER_GEN): $(TOOLS_DIR)/go.mod $(TOOLS_DIR)/go.sum
	cd $(TOOLS_DIR) && go build -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

$(GOLANGCI_LINT): $(LINT_TOOLS_DIR)/go.mod $(LINT_TOOLS_DIR)/go.sum
	cd $(LINT_TOOLS_DIR) && go build -o $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

.PHONY: tools
tools: $(CONTROLLER_GEN) $(GOLANGCI_LINT) ## Build the pinned controller-gen and golangci-lint into bin/.

.PHONY: helm
helm: ## Build helm at the pinned HELM_VERSION from the module proxy into bin/ (skipped if already at that version).
	@if [ -x $(HELM) ] && go version -m $(HELM) | awk '$$1=="mod" && $$2=="helm.sh/helm/v3" {print $$3}' | grep -qx '$(HELM_VERSION)'; then \
		echo "helm: $(HELM) is $(HELM_VERSION)"; \
	else \
		GOBIN=$(BIN) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); \
	fi

.PHONY: minio-bin
minio-bin: ## Build the MinIO server (AGPL; a test tool only, never linked) from the module proxy into bin/minio (once).
	$(ROOT)/hack/minio/build.sh

.PHONY: k8s-bins
k8s-bins: ## Build kube-apiserver, controller-manager, scheduler and etcd from source into bin/k8s/<version>/ (once).
	$(ROOT)/hack/k8s/build.sh

# ------ PACKAGING ------

# Image holding both bin/manager and bin/replnode (hack/image/Dockerfile).
IMG ?= ghcr.io/replnode/replnode:dev
IMAGE_VERSION ?= dev
DOCKER ?= docker

.PHONY: docker-build
docker-build: ## Build the container image IMG (default ghcr.io/replnode/replnode:dev; manager + replnode) from hack/image/Dockerfile with Docker/BuildKit.
	$(DOCKER) build -f $(ROOT)/hack/image/Dockerfile --build-arg VERSION=$(IMAGE_VERSION) -t $(IMG) $(ROOT)

.PHONY: image-verify
image-verify: ## Without Docker: build the image's build stage from exactly its context and check the binaries are static.
	$(ROOT)/hack/image/verify.sh

.PHONY: chart-sync
chart-sync: ## Copy the generated CRD and RBAC from config/ into charts/replnode-operator/files/.
	$(ROOT)/hack/chart/sync.sh

.PHONY: chart-check
chart-check: helm ## Fail when the chart's CRD/RBAC copies drift from config/ or grant more than the markers; helm lint both charts.
	$(ROOT)/hack/chart/sync.sh --check
	$(HELM) lint --strict $(ROOT)/charts/replnode-operator
	$(HELM) lint --strict $(ROOT)/charts/replnode-group
	go test -count=1 -run 'TestRBACLeastPrivilege|TestChartCopiesEqualConfig|TestRenderedCRDEqualsConfig' ./test/chart

# ------ DEMO AND END-TO-END ------

# E2E_FAILOVERS is how many master kills/pod deletions `make e2e` runs; plain
# `go test ./...` (make test) runs fewer (test/e2e's default).
E2E_FAILOVERS ?= 20
E2E_TIMEOUT ?= 40m
E2E_LOG := $(BIN)/e2e.log

# MINIO=1: the demo also runs MinIO and takes an example Backup.
MINIO ?=
.PHONY: demo
demo: demo-deps k8s-bins helm build $(if $(filter 1,$(MINIO)),minio-bin) ## Local cluster up, operator installed with helm (runs as a pod), sample ReplicationGroup Ready (master + 2 replicas), kubectl describe; the cluster stays up. MINIO=1: MinIO on the bridge, Secret demo-s3, Backup cache-demo (docs/backup.md).
	DEMO_MINIO=$(MINIO) $(ROOT)/hack/localcluster/demo.sh

# The local cluster's faults (bin/localcluster fault partition|cut|stop-node),
# which the README suggests right after `make demo`, run iptables in the pods'
# network namespaces.
.PHONY: demo-deps
demo-deps: ## Install iptables, which the local cluster's faults need, if missing (root only; otherwise fail early saying how).
	@if command -v iptables >/dev/null 2>&1; then \
		echo "demo-deps: $$(iptables --version)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "demo-deps: installing iptables (bin/localcluster fault partition, cut and stop-node run it)"; \
		DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 update && \
		DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y --no-install-recommends iptables; \
	else \
		echo "demo-deps: iptables is missing; bin/localcluster fault partition, cut and stop-node need it." >&2; \
		echo "  as root run: apt-get update && apt-get install -y iptables" >&2; \
		exit 1; \
	fi

.PHONY: demo-down
demo-down: ## Stop the demo's operator, pods and local cluster and remove its state.
	$(ROOT)/hack/localcluster/demo.sh down

.PHONY: e2e
e2e: test-deps k8s-bins build ## End-to-end suite on a local cluster of its own (root): replication, E2E_FAILOVERS kills, node stop, partition, switchover, then drains of every node, a rolling upgrade and a bad config healed; results in docs/benchmarks-failover.md.
	@export E2E_FAILOVERS=$(E2E_FAILOVERS) E2E_TIMING_GOALS=1 E2E_REPORT=$(ROOT)/docs/benchmarks-failover.md; \
	status=0; \
	go test -count=1 -v -timeout $(E2E_TIMEOUT) ./test/e2e/ 2>&1 | tee $(E2E_LOG) || status=$$?; \
	echo; grep -E '^(failover|node-stop|partition|switchover|drain|rolling-upgrade|bad-config):' $(E2E_LOG) || true; \
	exit $$status

# CHAOS_ROUNDS is how many rounds of each scenario `make chaos` runs; plain
# `go test ./...` (make test) runs 1 round of test/chaos's short list.
CHAOS_ROUNDS ?= 5
CHAOS_SCENARIOS ?= all
CHAOS_TIMEOUT ?= 6h
CHAOS_LOG := $(BIN)/chaos.log

.PHONY: chaos
chaos: test-deps k8s-bins build ## Jepsen-style chaos suite on a local cluster of its own (root): every scenario CHAOS_ROUNDS times under 4 recording clients, histories checked; results in docs/chaos.md.
	@export KUBEBUILDER_ASSETS=$(K8S_BIN_DIR) CHAOS_ROUNDS=$(CHAOS_ROUNDS) CHAOS_SCENARIOS=$(CHAOS_SCENARIOS) CHAOS_REPORT=$(ROOT)/docs/chaos.md; \
	status=0; \
	go test -count=1 -v -timeout $(CHAOS_TIMEOUT) ./test/chaos/ 2>&1 | tee $(CHAOS_LOG) || status=$$?; \
	echo; grep -E '^(chaos: [a-z-]+ (ok|FAIL),|summary: )' $(CHAOS_LOG) || true; \
	exit $$status

# ------ TEST ------

.PHONY: test-deps
test-deps: ## Install Debian's redis-server, redis-tools, iptables (local-cluster faults), tcpdump (e2e security capture), nodejs and npm (test/compat's BullMQ run) if missing (root only; otherwise prints the command).
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 && command -v redis-check-rdb >/dev/null 2>&1 || missing="redis-server redis-tools"; \
	command -v iptables >/dev/null 2>&1 || missing="$$missing iptables"; \
	command -v tcpdump >/dev/null 2>&1 || missing="$$missing tcpdump"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -z "$$missing" ]; then \
		echo "test-deps: $$(redis-server --version | cut -d' ' -f1-3), $$(iptables --version), node $$(node --version), npm $$(npm --version)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get -o Acquire::Retries=3 update && apt-get -o Acquire::Retries=3 install -y --no-install-recommends $$missing; \
	else \
		echo "test-deps: missing$$missing; as root run:" >&2; \
		echo "  apt-get update && apt-get install -y$$missing" >&2; \
		exit 1; \
	fi

.PHONY: test
test: test-deps k8s-bins minio-bin build helm ## Run every test in the repository (go test ./..., envtest on the source-built control plane, chart tests with bin/helm).
	@echo "test: KUBEBUILDER_ASSETS=$(K8S_BIN_DIR) REPLNODE_BIN=$(BIN)/replnode"
	@export KUBEBUILDER_ASSETS=$(K8S_BIN_DIR) REPLNODE_BIN=$(BIN)/replnode MINIO_BIN=$(BIN)/minio; \
	status=0; \
	go test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./... 2>&1 | tee $(TEST_LOG) || status=$$?; \
	echo "test: summary: $$(grep -cE '^ok[[:space:]]' $(TEST_LOG) || true) packages ok," \
		"$$(grep -cE '^FAIL[[:space:]]+[^[:space:]]' $(TEST_LOG) || true) packages FAIL," \
		"$$(grep -c '\[no test files\]' $(TEST_LOG) || true) without tests (full log: $(TEST_LOG))"; \
	exit $$status

# ------ FUZZING ------

# Time per fuzz target for `make fuzz`; the targets run one after another.
FUZZTIME ?= 10m
FUZZ_TARGETS := ./replnode/resp:FuzzParser ./replnode/config:FuzzConfigParse \
	./replnode/rdb:FuzzLoad ./replnode/rdb:FuzzRestorePayload ./replnode/server:FuzzCommandTable

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 10m) in turn; summary with execs and crashers in docs/fuzzing.md.
	cd $(ROOT) && hack/fuzz/run.sh $(FUZZTIME) docs/fuzzing.md $(FUZZ_TARGETS)

# ------ BENCHMARKS ------

# Extra flags for hack/bench, e.g. BENCH_FLAGS="-requests 100000 -repeats 5" or
# BENCH_FLAGS="-parts throughput -scenarios default,pipeline-16"
# (go run ./hack/bench -help lists them). Results go to bin/bench/.
BENCH_FLAGS ?=

.PHONY: bench
bench: test-deps ## Benchmark bin/replnode against redis-server 7.0: redis-benchmark scenarios with p99 and CPU per request, memory, full sync and GC at 1M keys, Go micro-benchmarks (~10-16 min; BENCH_FLAGS="-parts ..." selects); results in bin/bench/.
	go build -o $(BIN)/replnode ./cmd/replnode
	go run ./hack/bench -replnode $(BIN)/replnode -out $(BIN)/bench $(BENCH_FLAGS)

# Extra flags for hack/membench, e.g. MEMBENCH_FLAGS="-only strings".
MEMBENCH_FLAGS ?=

.PHONY: membench
membench: test-deps ## Bytes per key (used_memory, VmRSS) of bin/replnode vs redis-server 7.0 for 1M strings, 100k hashes/lists/sorted sets (~2-4 min, not load-sensitive).
	go build -o $(BIN)/replnode ./cmd/replnode
	go run ./hack/membench -replnode $(BIN)/replnode $(MEMBENCH_FLAGS)
