package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/log/level"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/exposition"
)

// metricsHandler serves one scrape, at most --web.max-requests at once: the
// billing group metrics, encoded once per cache state and format and shared
// by every scrape of that state, merged with the process-wide metrics
// gathered now. The scrape waits for refreshes no longer than
// X-Prometheus-Scrape-Timeout-Seconds less offset, or fallback, and never
// longer than longest, which the server's WriteTimeout allows for; a scrape
// whose deadline passes while the metrics are being encoded is answered 503.
// Format, compression, headers, the name[] filter and error handling are
// promhttp's (HandlerFor with ContinueOnError), so the body is what
// client_golang would serve from the same state.
func (s *Server) metricsHandler(fallback, offset, longest time.Duration) http.Handler {
	exposer := exposition.NewExposer(s.ex.Cache())
	return s.limit.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), min(ScrapeTimeout(r, fallback, offset), longest))
		defer cancel()
		format, gzip := exposition.Negotiate(r.Header)
		enc, err := exposer.Get(ctx, format, gzip)
		if err != nil {
			// Serving the process-wide metrics alone would make every
			// billing group series look gone to Prometheus.
			level.Warn(s.logger).Log("msg", "Scrape answered 503: its deadline passed before the metrics of the new state were encoded; a later scrape serves them", "err", err)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "The billing group metrics are still being encoded; the scrape's deadline passed first. Try again.", http.StatusServiceUnavailable)
			return
		}
		live, err := s.gatherer.Gather()
		if err != nil {
			level.Error(s.logger).Log("msg", "error gathering metrics: "+err.Error())
		}
		if enc.Err != nil {
			level.Error(s.logger).Log("msg", "error gathering metrics: "+enc.Err.Error())
		}
		if len(live) == 0 && len(enc.Families) == 0 && (err != nil || enc.Err != nil) {
			http.Error(w, "An error has occurred while serving metrics:\n\n"+errOr(err, enc.Err).Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Add("Vary", "Accept")
		h.Add("Vary", "Accept-Encoding")
		h.Set("Content-Type", string(enc.Format))
		if enc.Gzip {
			h.Set("Content-Encoding", "gzip")
		}
		var keep func(string) bool
		if r.URL != nil {
			if names := r.URL.Query()["name[]"]; len(names) > 0 {
				set := make(map[string]bool, len(names))
				for _, n := range names {
					set[n] = true
				}
				keep = func(name string) bool { return set[name] }
			}
		}
		if err := exposition.Write(w, enc, live, keep); err != nil {
			level.Error(s.logger).Log("msg", "error encoding and sending metric family: "+err.Error())
		}
	}))
}

func errOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// MinScrapeWait keeps a tiny or negative computed timeout from skipping
// every refresh.
const MinScrapeWait = 100 * time.Millisecond

// MaxScrapeWait caps what the header may ask for: a larger value (or Inf)
// would overflow time.Duration, and Go leaves the result to the platform.
const MaxScrapeWait = 24 * time.Hour

// ScrapeTimeout is how long a scrape may wait for refreshes: what
// X-Prometheus-Scrape-Timeout-Seconds says less offset, or fallback without
// it, at least MinScrapeWait.
func ScrapeTimeout(r *http.Request, fallback, offset time.Duration) time.Duration {
	d := fallback
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			d = time.Duration(min(s, MaxScrapeWait.Seconds())*float64(time.Second)) - offset
		}
	}
	return max(d, MinScrapeWait)
}
