package exposition

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

// BenchmarkUncachedEncode measures the first scrape of a new state, which
// encodes the exposition: 1,000 groups x 200 categories x the four periods
// (about 1.6 million series), in the text and protobuf formats. Reported per
// encode: bytes allocated, and as ratios, the peak live heap during the
// encode (sampled every millisecond) against the idle heap of the same
// warm cache measured just before (x-peak-heap-idle), the part of that peak
// the encoding does not keep, against the same idle heap
// (x-transient-idle), and the bytes allocated against the bytes encoded
// (x-alloc-body). See BENCHMARKS.md.
func BenchmarkUncachedEncode(b *testing.B) {
	const categories = 200
	for _, nGroups := range []int{100, 1000} {
		groups := benchGroups(nGroups, collector.ThisMonth, collector.Yesterday, collector.LastMonth, collector.ThisYear)
		cache := collector.NewCache(testsupport.Synthetic{Categories: categories}, groups, collector.CacheOptions{Concurrency: 4})
		cache.Get(context.Background())
		for _, f := range []struct {
			name   string
			format expfmt.Format
			gzip   bool
		}{
			{"text", expfmt.NewFormat(expfmt.TypeTextPlain), false},
			{"text-gzip", expfmt.NewFormat(expfmt.TypeTextPlain), true},
			{"protobuf", expfmt.NewFormat(expfmt.TypeProtoDelim), false},
		} {
			b.Run(fmt.Sprintf("groups=%d/format=%s", nGroups, f.name), func(b *testing.B) {
				var allocated, peakRatio, transient, body float64
				for range b.N {
					idle := testsupport.HeapInUse()
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					stop := make(chan struct{})
					peak := samplePeakHeap(stop)
					x := NewExposer(cache)
					enc, err := x.Get(context.Background(), f.format, f.gzip)
					close(stop)
					p := <-peak
					runtime.ReadMemStats(&after)
					if err != nil || enc.Err != nil {
						b.Fatal(err, enc.Err)
					}
					allocated += float64(after.TotalAlloc - before.TotalAlloc)
					peakRatio += float64(p) / float64(idle)
					held := testsupport.HeapInUse() // the cache and the encoding kept
					transient += float64(max(p, held)-held) / float64(idle)
					runtime.KeepAlive(x)
					for _, s := range enc.Families {
						body += float64(len(s.Data))
					}
				}
				n := float64(b.N)
				b.ReportMetric(allocated/n/(1<<20), "alloc-MiB/encode")
				b.ReportMetric(peakRatio/n, "x-peak-heap-idle")
				b.ReportMetric(allocated/body, "x-alloc-body")
				b.ReportMetric(transient/n, "x-transient-idle")
			})
		}
		cache.Close()
	}
}

// samplePeakHeap samples the live heap every millisecond until stop closes,
// and sends the largest value seen.
func samplePeakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	go func() {
		peak := read()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				out <- max(peak, read())
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	return out
}

// benchGroups returns n groups with distinct IDs and labels that fetch the
// periods given, with an hour's lifetime.
func benchGroups(n int, periods ...collector.Period) []collector.Group {
	groups := make([]collector.Group, n)
	for i := range groups {
		groups[i] = collector.Group{ID: fmt.Sprintf("commerce_billingprofile_BENCH%05d", i), Label: fmt.Sprintf("group-%05d", i)}
		for _, p := range periods {
			groups[i].TTL[p] = time.Hour
		}
	}
	return groups
}

// BenchmarkCacheMemory reports the heap a warm cache holds per 10,000 series
// it serves (cost and usage series of G groups x 200 categories, plus the
// per-group gauges), measured after a full GC, after one scrape has encoded
// the exposition in the text format, as it is (identity) or gzip-compressed
// (what Prometheus asks for).
func BenchmarkCacheMemory(b *testing.B) {
	const categories = 200
	for _, nGroups := range []int{1, 100, 1000} {
		for _, gz := range []bool{false, true} {
			encoding := map[bool]string{false: "identity", true: "gzip"}[gz]
			b.Run(fmt.Sprintf("groups=%d/encoding=%s", nGroups, encoding), func(b *testing.B) {
				f := testsupport.Synthetic{Categories: categories}
				groups := benchGroups(nGroups, collector.ThisMonth)
				var held, series float64
				for range b.N {
					before := testsupport.HeapInUse()
					cache := collector.NewCache(f, groups, collector.CacheOptions{Concurrency: 4})
					x := NewExposer(cache)
					enc, err := x.Get(context.Background(), expfmt.NewFormat(expfmt.TypeTextPlain), gz)
					if err != nil || enc.Err != nil {
						b.Fatal(err, enc.Err)
					}
					after := testsupport.HeapInUse()
					held += float64(after - before)
					runtime.KeepAlive(x)
					mfs, err := registryFor(collector.New(cache.Get(context.Background()))).Gather()
					if err != nil {
						b.Fatal(err)
					}
					for _, mf := range mfs {
						series += float64(len(mf.Metric))
					}
					cache.Close()
				}
				b.ReportMetric(held/series*10000, "heap-B/10k-series")
				b.ReportMetric(held/float64(b.N)/(1<<20), "heap-MiB")
				b.ReportMetric(series/float64(b.N), "series")
			})
		}
	}
}
