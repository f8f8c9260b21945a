package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
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
	exporterH := ex.metricsHandler(10*time.Second, 500*time.Millisecond, 2*time.Minute)
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

	w := &discardWriter{header: http.Header{}}
	exp := make([]time.Duration, 0, b.N)
	base := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		for j := range 2 {
			h, out := exporterH, &exp
			if (i+j)%2 == 1 {
				h, out = baselineH, &base
			}
			clear(w.header)
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
func newBenchExporter(b testing.TB, groups, categories int) (*exporter, func()) {
	b.Helper()
	return newBenchExporterWith(b, testOptions(), log.NewNopLogger(), groups, categories)
}

// newBenchExporterWith is newBenchExporter with options o, logging to logger.
func newBenchExporterWith(b testing.TB, o options, logger log.Logger, groups, categories int) (*exporter, func()) {
	b.Helper()
	var yml strings.Builder
	yml.WriteString("twilio:\n  api_url: http://127.0.0.1:1\n  token_url: http://127.0.0.1:1/v2/token\n  client_id: bench\n  client_secret: bench-secret\nbilling_groups:\n")
	for i := range groups {
		fmt.Fprintf(&yml, "  - id: commerce_billingprofile_BENCH%05d\n    name: group-%05d\n", i, i)
		if i%2 == 0 {
			yml.WriteString("    budget: {amount: 5000, currency: USD}\n")
		}
	}
	load := func() (*config.Config, error) { return config.Parse([]byte(yml.String()), noEnv) }
	ex, err := newExporter(o, load, prometheus.NewRegistry(), logger)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := load()
	if err != nil {
		b.Fatal(err)
	}
	ex.cache.Close()
	now := time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
	ex.cache = collector.NewCache(syntheticFetcher{categories: categories}, collectorGroups(cfg, o.cacheTTL), collector.CacheOptions{
		Concurrency: 4, Now: func() time.Time { return now },
	})
	ex.cache.Get(context.Background())
	return ex, ex.cache.Close
}

// syntheticFetcher answers every group with categories product categories of
// one product, unit and currency each, in fresh strings as a decoded
// response would be.
type syntheticFetcher struct{ categories int }

func (f syntheticFetcher) FetchRecords(_ context.Context, id string, _ twilio.Query) (*twilio.Usage, error) {
	u := &twilio.Usage{AsOf: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), Pages: 1}
	for i := range f.categories {
		cat := fmt.Sprintf("category-%03d", i)
		u.Records = append(u.Records, twilio.Record{
			ProductName: "Product-" + cat, ProductCategory: cat, UsageUnit: "units",
			UsageAmount: testsupport.Decimal(strconv.Itoa(1000 + i + len(id))), PriceAmount: testsupport.Decimal(strconv.Itoa(i) + ".25"), Currency: "USD",
		})
	}
	return u, nil
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
func newBaselineHandler(b *testing.B, ex *exporter) http.Handler {
	b.Helper()
	ch := make(chan prometheus.Metric, 1024)
	go func() {
		collector.New(ex.cache.Get(context.Background())).Collect(ch)
		close(ch)
	}()
	var metrics []prometheus.Metric
	for m := range ch {
		metrics = append(metrics, m)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prebuilt{metrics: metrics}, ex.reloadOK, ex.reloadTime, ex.limit.rejected, ex.encInfo)
	// The request counters, at 0 like the exporter's: the cache is filled
	// before the comparison, and the scrapes never call Twilio.
	collector.NewRequestMetrics(reg)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// discardWriter is a ResponseWriter that keeps nothing, so neither side of
// the comparison pays for buffering a large body.
type discardWriter struct {
	header http.Header
	n      int
	sb     *strings.Builder // when set, the body is kept
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(int)     {}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.sb != nil {
		w.sb.Write(p)
	}
	return len(p), nil
}

// serveOnce returns the body h serves to req, decompressed.
func serveOnce(b *testing.B, h http.Handler, req *http.Request) string {
	w := &discardWriter{header: http.Header{}, sb: &strings.Builder{}}
	h.ServeHTTP(w, req)
	if w.header.Get("Content-Encoding") != "gzip" {
		return w.sb.String()
	}
	zr, err := gzip.NewReader(strings.NewReader(w.sb.String()))
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
func allocsPerScrape(h http.Handler, req *http.Request, w *discardWriter) (allocs, bytes float64) {
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
