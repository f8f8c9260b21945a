// Package dashboards builds the bundled Grafana dashboards with Grafana's
// foundation SDK. The JSON files beside this package are its output: run
// `go run ./dashboards/generate` after changing it, and the drift test fails
// until the committed JSON matches.
package dashboards
