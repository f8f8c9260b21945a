package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/expfmt"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
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
	exposer := collector.NewExposer(s.ex.Cache())
	return s.limit.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), min(ScrapeTimeout(r, fallback, offset), longest))
		defer cancel()
		enc, err := exposer.Get(ctx, expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...), acceptsGzip(r.Header))
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
		if err := collector.Write(w, enc, live, keep); err != nil {
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

// acceptsGzip reports whether promhttp would answer a request with these
// headers gzip-compressed: of the offers identity and gzip, in that order, the
// first with the highest strictly positive quality in Accept-Encoding ("*"
// matches both) wins.
func acceptsGzip(h http.Header) bool {
	best, bestQ := "identity", -1.0
	specs := parseAcceptEncoding(h)
	for _, offer := range []string{"identity", "gzip"} {
		for _, s := range specs {
			if s.q > bestQ && (s.value == "*" || s.value == offer) {
				best, bestQ = offer, s.q
			}
		}
	}
	return best == "gzip" && bestQ != 0
}

type acceptSpec struct {
	value string
	q     float64
}

// parseAcceptEncoding parses Accept-Encoding as promhttp does (the parser of
// golang/gddo's httputil/header): a value that is malformed, or whose
// parameter is not q=, ends the parsing of its header line.
func parseAcceptEncoding(h http.Header) []acceptSpec {
	var specs []acceptSpec
line:
	for _, s := range h["Accept-Encoding"] {
		for {
			var spec acceptSpec
			spec.value, s = cutToken(s)
			if spec.value == "" {
				continue line
			}
			spec.q = 1
			s = skipSpace(s)
			if len(s) > 0 && s[0] == ';' {
				s = skipSpace(s[1:])
				if len(s) < 2 || s[:2] != "q=" {
					continue line
				}
				spec.q, s = cutQuality(s[2:])
				if spec.q < 0 {
					continue line
				}
			}
			specs = append(specs, spec)
			s = skipSpace(s)
			if len(s) == 0 || s[0] != ',' {
				continue line
			}
			s = skipSpace(s[1:])
		}
	}
	return specs
}

func skipSpace(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return s[i:]
}

// cutToken cuts an RFC 7230 token, or a media range with '/'.
func cutToken(s string) (token, rest string) {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '/' {
			continue
		}
		if c <= 31 || c >= 127 || c == ' ' || c == '\t' || strings.IndexByte("\"(),/:;<=>?@[]\\{}", c) >= 0 {
			break
		}
	}
	return s[:i], s[i:]
}

// cutQuality parses a quality value: 0 or 1, then optionally '.' and digits;
// -1 when it is neither.
func cutQuality(s string) (q float64, rest string) {
	switch {
	case len(s) == 0:
		return -1, ""
	case s[0] == '0':
		q = 0
	case s[0] == '1':
		q = 1
	default:
		return -1, ""
	}
	s = s[1:]
	if len(s) == 0 || s[0] != '.' {
		return q, s
	}
	s = s[1:]
	n, d, i := 0, 1, 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		d *= 10
	}
	return q + float64(n)/float64(d), s[i:]
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
