package collector

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
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
		groups := benchGroups(nGroups)
		for i := range groups {
			for p := range NumPeriods {
				groups[i].TTL[p] = time.Hour
			}
		}
		cache := NewCache(&pagedFetcher{categories: categories, pages: 1}, groups, CacheOptions{Concurrency: 4})
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
					idle := heapInUse()
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
					held := heapInUse() // the cache and the encoding kept
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
