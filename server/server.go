// Package server serves the exporter over HTTP: the metrics (encoded once
// per cache state), the landing page, health, readiness and reload, within
// one limit of requests at once and the connection timeouts. Main starts
// it with an exporter and gets an http.Handler.
package server

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/exporter"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing"
)

// Options are the command line's settings the server runs with.
type Options struct {
	// TelemetryPath is --web.telemetry-path.
	TelemetryPath string
	// ScrapeTimeout is --web.scrape-timeout, TimeoutOffset
	// --web.scrape-timeout-offset and TwilioTimeout --twilio.timeout.
	ScrapeTimeout, TimeoutOffset, TwilioTimeout time.Duration
	// Lifecycle is --web.enable-lifecycle: POST /-/reload reloads.
	Lifecycle bool
	// MaxRequests is --web.max-requests; 0: no limit.
	MaxRequests int
	// Demo says the exporter runs against the simulated API, for the
	// landing page.
	Demo bool
	// Now is the landing page's clock; nil means time.Now.
	Now func() time.Time
}

// Server is the exporter's HTTP side.
type Server struct {
	ex       *exporter.Exporter
	gatherer prometheus.Gatherer // process-wide metrics, gathered on every scrape
	limit    *requestLimit
	logger   log.Logger
	o        Options
	// landingRenders counts the landing page's renders, for the tests
	// that check it is rendered once per state, not per request.
	landingRenders atomic.Int64
}

// New returns the server of ex. Every scrape merges reg's metrics (the
// process-wide ones) with the billing group metrics; the server's own go
// to reg too.
func New(ex *exporter.Exporter, reg *prometheus.Registry, o Options, logger log.Logger) *Server {
	return &Server{ex: ex, gatherer: reg, limit: newRequestLimit(o.MaxRequests, reg, logger), logger: logger, o: o}
}

// Handler routes metrics, landing page, health, readiness and reload.
func (s *Server) Handler() http.Handler {
	o := s.o
	mux := http.NewServeMux()
	mux.Handle(o.TelemetryPath, s.metricsHandler(o.ScrapeTimeout, o.TimeoutOffset, o.LongestScrapeWait()))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if waiting, left := s.ex.Readiness(); waiting > 0 {
			http.Error(w, fmt.Sprintf("Not ready: waiting for the first refresh from Twilio (%d of the billing groups' periods to go, at most %v more).", waiting, left.Round(time.Second)), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
			return
		}
		if !o.Lifecycle {
			http.Error(w, "Lifecycle API is not enabled: start with --web.enable-lifecycle, or send SIGHUP.", http.StatusForbidden)
			return
		}
		if err := s.ex.Reload(); err != nil {
			http.Error(w, fmt.Sprintf("Failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Configuration reloaded.")
	})
	if o.TelemetryPath != "/" {
		mux.Handle("/", s.limit.wrap(landing.Handler(s.landingBody())))
	}
	return mux
}
