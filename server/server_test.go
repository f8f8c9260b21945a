package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/exporter"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

// newSyntheticServer serves an exporter of groups billing groups with
// categories categories each, answered by testsupport.Synthetic (no API),
// its cache filled, with options o; the cache's clock is o.Now.
func newSyntheticServer(tb testing.TB, o Options, groups, categories int) *Server {
	tb.Helper()
	load := func() (*config.Config, error) {
		return config.Parse([]byte(testsupport.SyntheticConfig(groups)), func(string) (string, bool) { return "", false })
	}
	reg := prometheus.NewRegistry()
	ex, err := exporter.New(exporter.Options{TwilioTimeout: o.TwilioTimeout, CacheTTL: 15 * time.Minute, Concurrency: 4, Now: o.Now}, load, reg, log.NewNopLogger())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(ex.Close)
	cfg, err := load()
	if err != nil {
		tb.Fatal(err)
	}
	ex.Cache().SetFetcherAndGroups(testsupport.Synthetic{Categories: categories}, exporter.Groups(cfg, 15*time.Minute))
	ex.Cache().Get(context.Background())
	return New(ex, reg, o, log.NewNopLogger())
}

// TestLandingPageRenderedOncePerState: the landing page is rendered once per
// cache state, reload status and minute, however many requests ask: 50
// requests at once and 50 more one by one cost one render; the next minute,
// whose ages differ, costs one more.
func TestLandingPageRenderedOncePerState(t *testing.T) {
	clock := testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
	s := newSyntheticServer(t, Options{TelemetryPath: "/metrics", ScrapeTimeout: time.Minute, TwilioTimeout: time.Minute, Now: clock.Now}, 20, 10)
	mux := s.Handler()
	get := func() string {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET /: %d %s", rec.Code, rec.Body.String())
		}
		return rec.Body.String()
	}
	first := get()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if get() != first {
				t.Error("a concurrent request got another page")
			}
		})
	}
	wg.Wait()
	clock.Add(59 * time.Second)
	for range 50 {
		get()
	}
	if n := s.landingRenders.Load(); n != 1 {
		t.Errorf("101 requests of one state within a minute: %d renders, want 1", n)
	}
	clock.Add(time.Second)
	get()
	if n := s.landingRenders.Load(); n != 2 {
		t.Errorf("the next minute: %d renders, want 2", n)
	}
}

// BenchmarkLandingPage measures GET / over a warm cache of G groups x 200
// categories: the first request of a state renders the page, later ones
// within the minute serve its bytes. Reported per request: bytes allocated
// when it renders and when it does not, and their ratio (x-render: what a
// served request costs against a render), with the page's size. See
// BENCHMARKS.md.
func BenchmarkLandingPage(b *testing.B) {
	for _, groups := range []int{100, 1000} {
		b.Run(fmt.Sprintf("groups=%d/categories=200", groups), func(b *testing.B) {
			clock := testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
			s := newSyntheticServer(b, Options{TelemetryPath: "/metrics", ScrapeTimeout: time.Minute, TwilioTimeout: time.Minute, MaxRequests: 40, Now: clock.Now}, groups, 200)
			h := s.Handler()
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			w := &testsupport.DiscardWriter{Head: http.Header{}}
			var rendered, served, size float64
			for range b.N {
				clock.Add(time.Minute) // a new minute: the next request renders
				var m0, m1, m2 runtime.MemStats
				runtime.ReadMemStats(&m0)
				w.N = 0
				h.ServeHTTP(w, req)
				runtime.ReadMemStats(&m1)
				const again = 10
				for range again {
					h.ServeHTTP(w, req)
				}
				runtime.ReadMemStats(&m2)
				rendered += float64(m1.TotalAlloc - m0.TotalAlloc)
				served += float64(m2.TotalAlloc-m1.TotalAlloc) / again
				size = float64(w.N) / (again + 1)
			}
			n := float64(b.N)
			if got := s.landingRenders.Load(); got != int64(b.N) {
				b.Fatalf("%d renders for %d minutes", got, b.N)
			}
			b.ReportMetric(rendered/n, "render-B/req")
			b.ReportMetric(served/n, "served-B/req")
			b.ReportMetric(served/rendered, "x-render")
			b.ReportMetric(size, "page-B")
		})
	}
}
