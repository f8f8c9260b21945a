package exporter

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
)

// reportingRates exports the configuration's reporting currency for the
// rules and dashboards to convert cost with: one rate per currency (the
// reporting currency's own, 1, included) and the date they were set. None
// without a reporting currency; a reload replaces them.
type reportingRates struct {
	rate, asOf *prometheus.Desc
	cur        atomic.Pointer[config.ReportingCurrency]
}

func newReportingRates() *reportingRates {
	return &reportingRates{
		rate: prometheus.NewDesc("twilio_billing_reporting_rate",
			"What one unit of currency is worth in reporting_currency, at the rates in reporting_currency.rates (1 for the reporting currency itself); cost in a currency without one is left out of every total in the reporting currency.",
			[]string{"currency", "reporting_currency"}, nil),
		asOf: prometheus.NewDesc("twilio_billing_reporting_rates_as_of_timestamp_seconds",
			"When the reporting currency's rates were set (reporting_currency.rates_as_of, 00:00 UTC), as a Unix timestamp.",
			[]string{"reporting_currency"}, nil),
	}
}

// set makes r export cfg's reporting currency, or none.
func (r *reportingRates) set(cfg *config.Config) { r.cur.Store(cfg.ReportingCurrency) }

// Describe implements prometheus.Collector.
func (r *reportingRates) Describe(ch chan<- *prometheus.Desc) {
	ch <- r.rate
	ch <- r.asOf
}

// Collect implements prometheus.Collector.
func (r *reportingRates) Collect(ch chan<- prometheus.Metric) {
	rc := r.cur.Load()
	if rc == nil {
		return
	}
	for c, rate := range rc.AllRates() {
		ch <- prometheus.MustNewConstMetric(r.rate, prometheus.GaugeValue, rate, c, rc.Currency)
	}
	ch <- prometheus.MustNewConstMetric(r.asOf, prometheus.GaugeValue, float64(rc.AsOf().Unix()), rc.Currency)
}
