package collector

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// RequestMetrics counts and times the exporter's HTTP requests to Twilio. Its
// Observe method fits twilio.RequestObserver.
type RequestMetrics struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRequestMetrics registers the request metrics with reg.
func NewRequestMetrics(reg prometheus.Registerer) *RequestMetrics {
	m := &RequestMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twilio_exporter_api_requests_total",
			Help: "HTTP requests the exporter made to Twilio, by endpoint (token, records) and status code (\"error\" when no response arrived).",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "twilio_exporter_api_request_duration_seconds",
			Help:    "Duration of HTTP requests the exporter made to Twilio, by endpoint.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
	}
	// The series of both endpoints and the usual status codes exist at 0
	// from the start: a counter born at 1 hides its first request from
	// increase() and rate(), and a first 429 or 401 is the one that matters.
	for _, endpoint := range []string{twilio.EndpointToken, twilio.EndpointRecords} {
		for _, code := range initialCodes {
			m.total.WithLabelValues(endpoint, code)
		}
		m.duration.WithLabelValues(endpoint)
	}
	reg.MustRegister(m.total, m.duration)
	return m
}

// initialCodes are the code label values created at 0: success, the
// answers the runbook explains (bad request, credentials, scope, unknown
// group, rate limiting, server errors) and "error" (no response).
var initialCodes = []string{"200", "400", "401", "403", "404", "429", "500", "502", "503", "504", "error"}

// Observe records one request attempt; code 0 means no HTTP response arrived.
func (m *RequestMetrics) Observe(endpoint string, code int, d time.Duration) {
	c := "error"
	if code > 0 {
		c = strconv.Itoa(code)
	}
	m.total.WithLabelValues(endpoint, c).Inc()
	m.duration.WithLabelValues(endpoint).Observe(d.Seconds())
}
