package main

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

// BenchmarkLandingPage measures GET / over a warm cache of G groups x 200
// categories: the first request of a state renders the page, later ones
// within the minute serve its bytes. Reported per request: bytes allocated
// when it renders and when it does not, and their ratio (x-render: what a
// served request costs against a render), with the page's size. See
// BENCHMARKS.md.
func BenchmarkLandingPage(b *testing.B) {
	for _, groups := range []int{100, 1000} {
		b.Run(fmt.Sprintf("groups=%d/categories=200", groups), func(b *testing.B) {
			o := testOptions()
			clock := testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
			o.now = clock.Now
			ex, cleanup := newBenchExporterWith(b, o, log.NewNopLogger(), groups, 200)
			defer cleanup()
			h := ex.routes(o)
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			w := &discardWriter{header: http.Header{}}
			var rendered, served, size float64
			for range b.N {
				clock.Add(time.Minute) // a new minute: the next request renders
				var m0, m1, m2 runtime.MemStats
				runtime.ReadMemStats(&m0)
				w.n = 0
				h.ServeHTTP(w, req)
				runtime.ReadMemStats(&m1)
				const again = 10
				for range again {
					h.ServeHTTP(w, req)
				}
				runtime.ReadMemStats(&m2)
				rendered += float64(m1.TotalAlloc - m0.TotalAlloc)
				served += float64(m2.TotalAlloc-m1.TotalAlloc) / again
				size = float64(w.n) / (again + 1)
			}
			n := float64(b.N)
			if got := ex.landingRenders.Load(); got != int64(b.N) {
				b.Fatalf("%d renders for %d minutes", got, b.N)
			}
			b.ReportMetric(rendered/n, "render-B/req")
			b.ReportMetric(served/n, "served-B/req")
			b.ReportMetric(served/rendered, "x-render")
			b.ReportMetric(size, "page-B")
		})
	}
}
