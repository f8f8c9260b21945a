package collector

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	reg.MustRegister(m.total, m.duration)
	return m
}

// Observe records one request attempt; code 0 means no HTTP response arrived.
func (m *RequestMetrics) Observe(endpoint string, code int, d time.Duration) {
	c := "error"
	if code > 0 {
		c = strconv.Itoa(code)
	}
	m.total.WithLabelValues(endpoint, c).Inc()
	m.duration.WithLabelValues(endpoint).Observe(d.Seconds())
}
