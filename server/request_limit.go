package server

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// requestLimit bounds the scrapes and landing page requests served at once,
// one limit for both, as node_exporter's --web.max-requests bounds scrapes: a scrape over the limit is answered 503 at once,
// so that a scrape storm (a misconfigured scraper, or anyone who can reach
// the port) cannot queue work or memory without bound.
type requestLimit struct {
	max      int
	slots    chan struct{} // nil: no limit
	rejected prometheus.Counter
	logger   log.Logger
	now      func() time.Time

	mu       sync.Mutex
	lastLog  time.Time
	unlogged int // rejections since the last log line
}

// logEvery is the least time between two log lines about rejected scrapes.
const logEvery = time.Minute

func newRequestLimit(most int, reg prometheus.Registerer, logger log.Logger) *requestLimit {
	l := &requestLimit{
		max: most,
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "twilio_exporter_scrapes_rejected_total",
			Help: "Scrapes and landing page requests answered 503 at once because --web.max-requests of them were already being served.",
		}),
		logger: logger,
		now:    time.Now,
	}
	if most > 0 {
		l.slots = make(chan struct{}, most)
	}
	reg.MustRegister(l.rejected)
	return l
}

// wrap serves h within the limit.
func (l *requestLimit) wrap(h http.Handler) http.Handler {
	if l.slots == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case l.slots <- struct{}{}:
			defer func() { <-l.slots }()
			h.ServeHTTP(w, r)
		default:
			l.reject(w)
		}
	})
}

func (l *requestLimit) reject(w http.ResponseWriter) {
	l.rejected.Inc()
	w.Header().Set("Retry-After", "1")
	http.Error(w, fmt.Sprintf("Too many requests at once: %d scrapes and landing page requests are being served, the limit set by --web.max-requests. Try again later.", l.max), http.StatusServiceUnavailable)
	l.mu.Lock()
	l.unlogged++
	now, n := l.now(), l.unlogged
	if !l.lastLog.IsZero() && now.Sub(l.lastLog) < logEvery {
		l.mu.Unlock()
		return
	}
	l.lastLog, l.unlogged = now, 0
	l.mu.Unlock()
	level.Warn(l.logger).Log("msg", "Rejected scrapes over --web.max-requests with 503; raise the limit if that many scrapers are expected, else find the one scraping too often",
		"max_requests", l.max, "rejected_since_last_log", n)
}
