package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/exporter"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/server"
)

// BenchmarkScrape measures a /metrics scrape served from a warm cache of G
// groups x 200 categories through the exporter's real handler, against a
// baseline measured in the same run: client_golang serving the same series,
// pre-built once as const metrics, from a trivial collector through one
// registry and one promhttp handler. Exporter and baseline scrapes alternate,
// so machine noise hits both alike. Reported: latency p50/p99 of both, their
// ratio (x-base-p50, x-base-p99), allocations and bytes per scrape of both
// and their ratio, without compression and with gzip requested as Prometheus
// requests it. See BENCHMARKS.md.
func BenchmarkScrape(b *testing.B) {
	for _, groups := range []int{1, 100, 1000} {
		for _, encoding := range []string{"identity", "gzip"} {
			b.Run(fmt.Sprintf("groups=%d/categories=200/encoding=%s", groups, encoding), func(b *testing.B) {
				benchmarkScrape(b, groups, 200, encoding)
			})
		}
	}
}

func benchmarkScrape(b *testing.B, groups, categories int, encoding string) {
	ex, cleanup := newBenchExporter(b, groups, categories)
	defer cleanup()
	exporterH := ex.srv.Handler()
	baselineH := newBaselineHandler(b, ex)

	req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", encoding)
	// The baseline must serve exactly what the exporter serves.
	want, got := serveOnce(b, exporterH, req), serveOnce(b, baselineH, req)
	if want != got {
		b.Fatalf("baseline exposition differs from the exporter's (%d vs %d bytes)", len(got), len(want))
	}
	if n := strings.Count(want, "\ntwilio_billing_group_cost{"); n != groups*categories {
		b.Fatalf("exposition has %d cost series, want %d", n, groups*categories)
	}

	w := &testsupport.DiscardWriter{Head: http.Header{}}
	exp := make([]time.Duration, 0, b.N)
	base := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		for j := range 2 {
			h, out := exporterH, &exp
			if (i+j)%2 == 1 {
				h, out = baselineH, &base
			}
			clear(w.Head)
			start := time.Now()
			h.ServeHTTP(w, req)
			*out = append(*out, time.Since(start))
		}
	}
	b.StopTimer()
	expAllocs, expBytes := allocsPerScrape(exporterH, req, w)
	baseAllocs, baseBytes := allocsPerScrape(baselineH, req, w)
	ep50, ep99 := percentile(exp, 50), percentile(exp, 99)
	bp50, bp99 := percentile(base, 50), percentile(base, 99)
	b.ReportMetric(float64(mean(exp).Nanoseconds()), "ns/op") // the exporter's scrape alone
	b.ReportMetric(float64(ep50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(ep99.Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(bp50.Nanoseconds()), "base-p50-ns")
	b.ReportMetric(float64(bp99.Nanoseconds()), "base-p99-ns")
	b.ReportMetric(float64(ep50)/float64(bp50), "x-base-p50")
	b.ReportMetric(float64(ep99)/float64(bp99), "x-base-p99")
	b.ReportMetric(expAllocs, "allocs/scrape")
	b.ReportMetric(baseAllocs, "base-allocs/scrape")
	b.ReportMetric(expAllocs/baseAllocs, "x-base-allocs")
	b.ReportMetric(expBytes, "B/scrape")
	b.ReportMetric(baseBytes, "base-B/scrape")
	b.ReportMetric(float64(len(want)), "body-B")
}

// newBenchExporter is the exporter as main wires it, over a cache of groups
// groups x categories categories filled from a synthetic Fetcher at a fixed
// time, so nothing expires while the benchmark runs.
func newBenchExporter(b testing.TB, groups, categories int) (*benchExporter, func()) {
	b.Helper()
	return newBenchExporterWith(b, testOptions(), log.NewNopLogger(), groups, categories)
}

// benchExporter is an exporter over synthetic data, its server and the
// registry of both's own metrics.
type benchExporter struct {
	*exporter.Exporter
	srv      *server.Server
	gatherer *prometheus.Registry
}

// newBenchExporterWith is newBenchExporter with options o, logging to logger.
func newBenchExporterWith(b testing.TB, o options, logger log.Logger, groups, categories int) (*benchExporter, func()) {
	b.Helper()
	yml := testsupport.SyntheticConfig(groups)
	load := func() (*config.Config, error) { return config.Parse([]byte(yml), noEnv) }
	if o.now == nil {
		now := time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
		o.now = func() time.Time { return now }
	}
	reg := prometheus.NewRegistry()
	ex, err := exporter.New(o.exporter(), load, reg, logger)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := load()
	if err != nil {
		b.Fatal(err)
	}
	ex.Cache().SetFetcherAndGroups(testsupport.Synthetic{Categories: categories}, exporter.Groups(cfg, o.cacheTTL))
	ex.Cache().Get(context.Background())
	return &benchExporter{Exporter: ex, srv: server.New(ex, reg, o.server(), logger), gatherer: reg}, ex.Close
}

// prebuilt is the baseline's trivial collector: it sends metrics built once.
type prebuilt struct{ metrics []prometheus.Metric }

func (p prebuilt) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(p, ch) }

func (p prebuilt) Collect(ch chan<- prometheus.Metric) {
	for _, m := range p.metrics {
		ch <- m
	}
}

// newBaselineHandler serves what ex serves, pre-built: the billing group
// metrics collected once, plus ex's process-wide collectors, from one
// registry through one handler built once.
func newBaselineHandler(b *testing.B, ex *benchExporter) http.Handler {
	b.Helper()
	ch := make(chan prometheus.Metric, 1024)
	go func() {
		collector.New(ex.Cache().Get(context.Background())).Collect(ch)
		close(ch)
	}()
	var metrics []prometheus.Metric
	for m := range ch {
		metrics = append(metrics, m)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prebuilt{metrics: metrics})
	// With the exporter's own metrics (reloads, requests, the request
	// encoding, rejected scrapes), as it serves them.
	return promhttp.HandlerFor(prometheus.Gatherers{reg, ex.gatherer}, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// serveOnce returns the body h serves to req, decompressed.
func serveOnce(b *testing.B, h http.Handler, req *http.Request) string {
	w := &testsupport.DiscardWriter{Head: http.Header{}, Body: &strings.Builder{}}
	h.ServeHTTP(w, req)
	if w.Head.Get("Content-Encoding") != "gzip" {
		return w.Body.String()
	}
	zr, err := gzip.NewReader(strings.NewReader(w.Body.String()))
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return string(body)
}

// allocsPerScrape is the mean heap allocations (count and bytes) of a few
// scrapes.
func allocsPerScrape(h http.Handler, req *http.Request, w *testsupport.DiscardWriter) (allocs, bytes float64) {
	const runs = 5
	h.ServeHTTP(w, req) // warm pools
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		h.ServeHTTP(w, req)
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / runs, float64(after.TotalAlloc-before.TotalAlloc) / runs
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}
