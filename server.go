package main

import (
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
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

// longestScrapeWait is the longest a scrape waits for refreshes, whatever
// X-Prometheus-Scrape-Timeout-Seconds asks: waiting longer than one refresh
// may take (--twilio.timeout) buys nothing, and --web.scrape-timeout is what
// the operator asked for.
func (o options) longestScrapeWait() time.Duration {
	return max(o.scrapeTimeout, o.twilioTimeout)
}

// newHTTPServer returns the server of handler h with the timeouts above; its
// WriteTimeout is longer than any scrape may wait, so that a slow scrape is
// answered rather than cut.
func newHTTPServer(h http.Handler, o options) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		WriteTimeout:      o.longestScrapeWait() + writeMargin,
	}
}

// logWarnings logs what is risky but valid in cfg, at every (re)load.
func logWarnings(logger log.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings() {
		level.Warn(logger).Log("msg", w)
	}
}

// secretSource returns the client secret read from file, again for every new
// token, so that a Secret rotated in place is used without a restart or a
// reload; nil when the secret does not come from a file.
func secretSource(file string) func() (string, error) {
	if file == "" {
		return nil
	}
	return func() (string, error) {
		s, err := config.ReadSecretFile(file)
		return s.Reveal(), err
	}
}
