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

.PHONY: build test lint tools fuzz clean

build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BINARY) .

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

tools: $(PROMETHEUS) $(PROMTOOL)

$(PROMETHEUS) $(PROMTOOL) &:
	GOBIN=$(TOOLS_DIR) GOFLAGS=-buildvcs=false go install \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION) \
		github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)

# The whole suite: formatting, vet, every test under the race detector,
# including the end-to-end tests against a real Prometheus and promtool.
test: lint tools
	PROMETHEUS=$(PROMETHEUS) PROMTOOL=$(PROMTOOL) go test -race -count=1 -timeout 30m ./...

# A short fuzzing pass over the decoders (not part of test).
fuzz:
	go test -run '^$$' -fuzz FuzzDecodePage -fuzztime 60s ./twilio/
	go test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./config/

clean:
	rm -rf $(BINARY) .tools
