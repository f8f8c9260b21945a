package server

import (
	"net/http"
	"time"
)

// Limits on the exporter's own HTTP connections: a client that sends its
// request slowly, promises a body it never sends or keeps an idle
// connection open is disconnected instead of holding it for ever.
const (
	// readHeaderTimeout bounds reading a request's headers.
	readHeaderTimeout = 10 * time.Second
	// readTimeout bounds reading a whole request, body included. No
	// endpoint takes a body; a POST that promises one and stalls is cut.
	readTimeout = 30 * time.Second
	// idleTimeout bounds a keep-alive connection between requests: long
	// enough for Prometheus to reuse it at scrape intervals up to 5m.
	idleTimeout = 5 * time.Minute
	// writeMargin is how long writing a response may take after the
	// longest scrape wait, on top of it.
	writeMargin = 30 * time.Second
)

// LongestScrapeWait is the longest a scrape waits for refreshes, whatever
// X-Prometheus-Scrape-Timeout-Seconds asks: waiting longer than one refresh
// may take (--twilio.timeout) buys nothing, and --web.scrape-timeout is what
// the operator asked for.
func (o Options) LongestScrapeWait() time.Duration {
	return max(o.ScrapeTimeout, o.TwilioTimeout)
}

// HTTPServer returns the server of handler h with the timeouts above; its
// WriteTimeout is longer than any scrape may wait, so that a slow scrape is
// answered rather than cut.
func HTTPServer(h http.Handler, o Options) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		WriteTimeout:      o.LongestScrapeWait() + writeMargin,
	}
}
