// Package dashboards builds the bundled Grafana dashboards with Grafana's
// foundation SDK. The JSON files beside this package, and the Helm chart's
// copies of them, are its output: run `make dashboards` after changing it,
// and the drift test fails until the committed JSON matches.
package dashboards
