package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/server"
)

// prometheus3Accept is the Accept header Prometheus 3 sends by default.
const prometheus3Accept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

// TestMetricsHandlerServesWhatPromhttpServes checks the pre-encoded scrape
// against the registry path it replaces: promhttp's handler over the
// process-wide registry and a billing group collector of the same state. For
// every format and compression a scraper can negotiate, status, headers and
// the decompressed body are identical, and a gzip body is one gzip member
// that a reader limited to one member reads whole.
func TestMetricsHandlerServesWhatPromhttpServes(t *testing.T) {
	ex, cleanup := newBenchExporter(t, 3, 4)
	defer cleanup()
	// Process-wide families sorting before, between and after the billing
	// group ones; twilio_exporter_refresh_duration_seconds (billing) sorts
	// between twilio_exporter_config_* and twilio_exporter_requests_*.
	reg := ex.gatherer
	for _, name := range []string{"go_fixed", "twilio_billing_group_zz_live", "twilio_exporter_zz_live"} {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "Fixed " + name + "."})
		g.Set(42)
		reg.MustRegister(g)
	}
	got := ex.srv.Handler()
	want := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scrapeReg := prometheus.NewRegistry()
		scrapeReg.MustRegister(collector.New(ex.Cache().Get(context.Background())))
		promhttp.HandlerFor(prometheus.Gatherers{ex.gatherer, scrapeReg}, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	})

	for _, accept := range []string{
		"",
		"text/plain;version=0.0.4",
		"text/plain;version=1.0.0;escaping=underscores",
		prometheus3Accept,
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
	} {
		for _, encoding := range []string{"", "gzip", "gzip, identity", "identity;q=0.5, gzip", "*", "gzip;q=0", "br", "gzip;foo=bar"} {
			for _, query := range []string{"", "?name[]=twilio_billing_group_cost&name[]=go_fixed&name[]=twilio_exporter_refresh_duration_seconds"} {
				req := httptest.NewRequest(http.MethodGet, "/metrics"+query, nil)
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				if encoding != "" {
					req.Header.Set("Accept-Encoding", encoding)
				}
				g, w := httptest.NewRecorder(), httptest.NewRecorder()
				got.ServeHTTP(g, req)
				want.ServeHTTP(w, req)
				name := "Accept: " + accept + ", Accept-Encoding: " + encoding + ", query: " + query
				if g.Code != w.Code {
					t.Errorf("%s: status %d, promhttp %d", name, g.Code, w.Code)
				}
				for _, h := range []string{"Content-Type", "Content-Encoding", "Vary"} {
					if a, b := g.Result().Header.Values(h), w.Result().Header.Values(h); strings.Join(a, ", ") != strings.Join(b, ", ") {
						t.Errorf("%s: %s %q, promhttp %q", name, h, a, b)
					}
				}
				gb, wb := body(t, g), body(t, w)
				if !bytes.Equal(gb, wb) {
					t.Errorf("%s: body differs from promhttp's (%d vs %d bytes):\n%s\nwant:\n%s", name, len(gb), len(wb), head(gb), head(wb))
				}
				if !bytes.Contains(gb, []byte("twilio_billing_group_cost")) || (query == "" && !bytes.Contains(gb, []byte("twilio_exporter_zz_live"))) {
					t.Errorf("%s: body lacks billing or process-wide families:\n%s", name, head(gb))
				}
			}
		}
	}
}

// body decodes a recorded response: a gzip body must be exactly one member.
func body(t *testing.T, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	b := rec.Body.Bytes()
	if rec.Result().Header.Get("Content-Encoding") != "gzip" {
		return b
	}
	return testsupport.Gunzip(t, b)
}

func head(b []byte) string {
	const n = 2000
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func TestScrapeTimeout(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 10 * time.Second},
		{"30", 29500 * time.Millisecond},
		{"0.25", server.MinScrapeWait},
		{"abc", 10 * time.Second},
		{"-5", 10 * time.Second},
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.header != "" {
			r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", tc.header)
		}
		if got := server.ScrapeTimeout(r, 10*time.Second, 500*time.Millisecond); got != tc.want {
			t.Errorf("header %q: timeout %v, want %v", tc.header, got, tc.want)
		}
	}
}
