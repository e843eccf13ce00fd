# Sovereign — see README.md. `make run` serves, `make test` runs every test.
SHELL := /usr/bin/env bash
GO ?= go
BIN := bin/sovereign
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
HTTP ?= 127.0.0.1:8080
CONFIG ?=
FUZZTIME ?= 30s
# The fuzzers make test runs briefly: path canonicaliser, string normaliser, config parser, naming.
SHORT_FUZZ := core/pathfact:FuzzAnalyze core/pathfact:FuzzFacts core/textfact:FuzzFacts core/textfact:FuzzURL \
	core/config:FuzzLoad proxy/catalog:FuzzExpose proxy/catalog:FuzzRewriteURI
SHORT_FUZZTIME ?= 4s
# Stock OPA, the same version as go.mod's, for the policy library checks.
OPA_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/open-policy-agent/opa)
OPA := $(GO) run github.com/open-policy-agent/opa@$(OPA_VERSION)

.PHONY: help build run test test-unit test-e2e deps-e2e policy-test fuzz-short lint fmt fmt-check vet fuzz bench tidy-check clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/sovereign
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sovereign

run: build ## run the proxy: stdio + HTTP on $(HTTP) (CONFIG=file to use a config)
	./$(BIN) serve --http $(HTTP) $(if $(CONFIG),--config $(CONFIG),)

test: fmt-check vet policy-test deps-e2e ## run every test: unit, policy, end-to-end, conformance, short fuzzing
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz-short

# A crash found by the fuzzer is saved under testdata/fuzz and fails the retry
# deterministically; the retry only absorbs a worker lost to machine load.
fuzz-short: ## run the parser and canonicaliser fuzzers for SHORT_FUZZTIME each
	@mkdir -p tests/.work
	@for spec in $(SHORT_FUZZ); do pkg=$${spec%%:*}; fn=$${spec##*:}; \
	  echo "fuzz $$pkg $$fn ($(SHORT_FUZZTIME))"; \
	  $(GO) test ./$$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(SHORT_FUZZTIME) > tests/.work/fuzz.log 2>&1 || \
	  $(GO) test ./$$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(SHORT_FUZZTIME) > tests/.work/fuzz.log 2>&1 || \
	    { cat tests/.work/fuzz.log; exit 1; }; done

policy-test: ## the policy library with stock OPA: fmt, check --strict (with the input schema), test with coverage
	@out=$$($(OPA) fmt -l policies/ docs/examples/projects/policy/); if [ -n "$$out" ]; then echo "opa fmt needed:"; echo "$$out"; exit 1; fi
	$(OPA) check --strict --schema policies/input.schema.json policies/ docs/examples/projects/policy/
	@mkdir -p tests/.work
	$(OPA) test --timeout 60s policies/
	@# The example of docs/policy-authoring.md: its own tests only (the library's describe the library alone).
	$(OPA) test --timeout 60s policies/ docs/examples/projects/policy/ --run '^data\.sovereign\.rules\.projects_test\.'
	@$(OPA) test --timeout 60s --coverage --threshold 90 policies/ > tests/.work/opa-coverage.json || \
	  { echo "policy coverage is below 90% (report: tests/.work/opa-coverage.json)"; exit 1; }

test-unit: ## run the unit tests only (no npm needed)
	$(GO) test -race -short -count=1 ./...

test-e2e: deps-e2e ## run the end-to-end and conformance tests only
	$(GO) test -count=1 -timeout 20m -v ./tests/...

deps-e2e: ## install the pinned npm test peers and Node 22 (tests/npm)
	bash tests/setup.sh

lint: fmt-check vet ## formatting and vet

fmt: ## format the Go code
	gofmt -w $$(find cmd core proxy policies tests -name '*.go' -not -path '*/node_modules/*')

fmt-check:
	@out=$$(gofmt -l $$(find cmd core proxy policies tests -name '*.go' -not -path '*/node_modules/*' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

fuzz: ## run each fuzzer for FUZZTIME
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; done

bench: ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

tidy-check: ## go.mod and go.sum are tidy
	$(GO) mod tidy -diff

clean: ## remove build output
	rm -rf bin tests/.work
