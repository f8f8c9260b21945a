#!/bin/sh
# Load test of /metrics on loopback: builds the exporter and runs
# scripts/loadgen against it (a simulated Usage API with many billing groups).
# Arguments are passed to loadgen, e.g. -groups 1000 -clients 16 -duration 30s;
# -storm 1,10,50,200 measures memory, latency and 503s against concurrent
# scrapers, -floor compares with a trivial client_golang server (see
# BENCHMARKS.md). loadgen is its own load generator: nothing else to install.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/twilio_billing_exporter" .
go run ./scripts/loadgen -exporter "$tmp/twilio_billing_exporter" "$@"
