# One command builds, one runs, one tests: see README.md.

BINARY       := twilio_billing_exporter
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH       ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
VERSION_PKG  := github.com/prometheus/common/version
LDFLAGS      := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
                -X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildUser=make \
                -X $(VERSION_PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

# Tools the tests run for real. They are built from source with the Go
# toolchain into .tools/ (about 4 minutes the first time, cached afterwards).
PROMETHEUS_VERSION := v0.316.0
TOOLS_DIR          := $(CURDIR)/.tools/prometheus-$(PROMETHEUS_VERSION)
PROMETHEUS         := $(TOOLS_DIR)/prometheus
PROMTOOL           := $(TOOLS_DIR)/promtool

# Tools the deployment tests (e2e/deploy_test.go) run: Helm for the chart,
# amtool for the demo stack's Alertmanager config, and BuildKit's Dockerfile
# checks (deploy/dockerfile-lint, pinned by its own go.mod) for the Dockerfile.
HELM_VERSION         := v3.22.0
ALERTMANAGER_VERSION := v0.35.0
HELM                 := $(CURDIR)/.tools/helm-$(HELM_VERSION)/helm
AMTOOL               := $(CURDIR)/.tools/alertmanager-$(ALERTMANAGER_VERSION)/amtool
DOCKERFILE_LINT      := $(CURDIR)/.tools/dockerfile-lint/dockerfile-lint
CHART                := deploy/helm/twilio-billing-exporter

# The linters `make lint` runs besides gofmt and go vet (.golangci.yml:
# staticcheck's full set, errcheck, errorlint, revive, gocritic, misspell...),
# pinned like the tools above; about 3 minutes to build the first time.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(CURDIR)/.tools/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

.PHONY: build test lint tools chromium generate dashboards bench fuzz clean

build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BINARY) .

lint: $(GOLANGCI_LINT)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(GOLANGCI_LINT) run ./...

tools: $(PROMETHEUS) $(PROMTOOL) $(HELM) $(AMTOOL) $(DOCKERFILE_LINT) $(GOLANGCI_LINT)

$(PROMETHEUS) $(PROMTOOL) &:
	GOBIN=$(TOOLS_DIR) GOFLAGS=-buildvcs=false go install \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION) \
		github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)

$(HELM):
	GOBIN=$(dir $@) GOFLAGS=-buildvcs=false go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(GOLANGCI_LINT):
	GOBIN=$(dir $@) GOFLAGS=-buildvcs=false go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(AMTOOL):
	GOBIN=$(dir $@) GOFLAGS=-buildvcs=false go install github.com/prometheus/alertmanager/cmd/amtool@$(ALERTMANAGER_VERSION)

# The browser the landing page test (e2e/landing_test.go) drives: Debian's
# chromium package, installed with apt-get when missing (as root; about 35
# seconds). Where it cannot be installed the test skips with a message, and
# fails under CI=true. CHROMIUM names another Chromium binary.
chromium:
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core; \
	else \
		echo "chromium not found: install Debian's chromium package (needs root), or set CHROMIUM to a Chromium binary, to run the browser test"; \
		if [ "$$CI" = true ]; then exit 1; fi; \
	fi

$(DOCKERFILE_LINT): deploy/dockerfile-lint/main.go deploy/dockerfile-lint/go.mod deploy/dockerfile-lint/go.sum
	cd deploy/dockerfile-lint && GOFLAGS=-buildvcs=false go build -o $@ .

# The whole suite: formatting, vet, every test under the race detector,
# including the end-to-end tests against a real Prometheus and promtool.
test: lint tools chromium
	PROMETHEUS=$(PROMETHEUS) PROMTOOL=$(PROMTOOL) HELM=$(HELM) AMTOOL=$(AMTOOL) DOCKERFILE_LINT=$(DOCKERFILE_LINT) \
	CHROMIUM="$${CHROMIUM:-$$(command -v chromium || true)}" go test -race -count=1 -timeout 30m ./...

# Every committed file that is written from another: the Grafana dashboards
# from dashboards/*.go, and the Helm chart's copy of the alert rules (Helm
# cannot read files outside the chart). Run it after editing either; `make
# test` fails while any of them differs from its source.
generate: dashboards
	cp alerts/twilio_billing_exporter.rules.yml $(CHART)/files/alerts/

# The dashboards' JSON, into dashboards/ and the chart's files/dashboards/.
dashboards:
	go run ./dashboards/generate

# The performance benchmarks (not part of test; about 5 minutes). Ratios and
# how to read them: BENCHMARKS.md. Compare runs with benchstat.
BENCH_COUNT ?= 5
bench:
	go test -run '^$$' -bench . -benchtime=20x -count=$(BENCH_COUNT) -timeout 60m .
	go test -run '^$$' -bench . -benchtime=3x -count=$(BENCH_COUNT) -timeout 60m ./collector/ ./exposition/ ./server/

# A short fuzzing pass over the decoders (not part of test).
fuzz:
	go test -run '^$$' -fuzz FuzzDecodePage -fuzztime 60s ./twilio/
	go test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./config/

clean:
	rm -rf $(BINARY) .tools e2e/output
