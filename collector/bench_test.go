package collector

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// Benchmarks of the cache: upstream calls under concurrent scrapers, cold
// refresh time against the ideal schedule, and heap per served series. Each
// reports its figure as a ratio to an ideal or a per-series cost, so that a
// noisy shared machine changes the absolute times but not the verdict. See
// BENCHMARKS.md for the commands and the figures.

// syntheticUsage is one billing group's month with categories product
// categories of one product, one unit and one currency each: 2*categories
// cost and usage series.
func syntheticUsage(categories int) *twilio.Usage {
	u := &twilio.Usage{AsOf: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), Pages: 1}
	for i := range categories {
		cat := fmt.Sprintf("category-%03d", i)
		u.Records = append(u.Records, twilio.Record{
			ProductName: "Product-" + cat, ProductCategory: cat,
			UsageUnit: "units", UsageAmount: dec(float64(1000 + i)), PriceAmount: dec(float64(i) + 0.25), Currency: "USD",
		})
	}
	return u
}

// pagedFetcher serves synthetic usage for every group, taking latency per
// page for pages sequential pages, like the real client. With usage nil it
// builds a fresh one of categories categories per call, so that every
// snapshot holds its own strings as after decoding a real response.
type pagedFetcher struct {
	usage      *twilio.Usage
	categories int
	pages      int
	latency    time.Duration
}

func (f *pagedFetcher) FetchRecords(ctx context.Context, _ string, _ twilio.Query) (*twilio.Usage, error) {
	for range f.pages {
		if f.latency <= 0 {
			continue
		}
		t := time.NewTimer(f.latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	if f.usage == nil {
		return syntheticUsage(f.categories), nil
	}
	return f.usage, nil
}

// benchGroups returns n groups with valid, distinct IDs.
func benchGroups(n int) []Group {
	gs := make([]Group, n)
	for i := range gs {
		gs[i] = Group{ID: fmt.Sprintf("commerce_billingprofile_BENCH%05d", i), Label: fmt.Sprintf("group-%05d", i)}
	}
	return gs
}

// BenchmarkUpstreamCalls runs N concurrent scrapers through several cache
// lifetimes against the real client and the simulated Usage API, and reports
// records requests measured / ideal, where ideal = groups x pages x
// refreshes. It must be 1.00 whatever N is. The token request is reported
// separately (one per client, reused across refreshes).
func BenchmarkUpstreamCalls(b *testing.B) {
	const (
		nGroups   = 5
		pageSize  = 10
		lifetimes = 4
		ttl       = 15 * time.Minute
	)
	for _, scrapers := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("scrapers=%d", scrapers), func(b *testing.B) {
			clk := testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
			var simGroups []usagesim.Group
			var groups []Group
			for i := range nGroups {
				g := usagesim.Group{ID: fmt.Sprintf("commerce_billingprofile_UP%02d", i), Currency: "USD", Seed: int64(i + 1)}
				simGroups = append(simGroups, g)
				groups = append(groups, Group{ID: g.ID, Label: g.ID})
			}
			// Tokens outlive the run: the injected clock jumps a TTL per lifetime.
			sim := usagesim.New(usagesim.Options{Now: clk.Now, Groups: simGroups, TokenTTL: 10 * 365 * 24 * time.Hour})
			client := simtest.Client(b, simtest.Start(b, sim), pageSize, nil)
			pagesPerRefresh := 0
			for _, g := range simGroups {
				records, _ := sim.Records(g.ID, "THIS_MONTH")
				pagesPerRefresh += max(1, (len(records)+pageSize-1)/pageSize)
			}
			b.ResetTimer()
			for range b.N {
				cache := NewCache(client, monthly(ttl, groups...), CacheOptions{Now: clk.Now, Concurrency: 4})
				for range lifetimes {
					var wg sync.WaitGroup
					start := make(chan struct{})
					for range scrapers {
						wg.Go(func() {
							<-start
							if _, err := registryFor(New(cache.Get(context.Background()))).Gather(); err != nil {
								b.Error(err)
							}
						})
					}
					close(start)
					wg.Wait()
					clk.Add(ttl)
				}
				cache.Close()
			}
			b.StopTimer()
			st := sim.Stats()
			ideal := b.N * lifetimes * pagesPerRefresh
			b.ReportMetric(float64(st.RecordsRequests)/float64(ideal), "x-ideal")
			b.ReportMetric(float64(st.RecordsRequests)/float64(b.N), "records-req/op")
			b.ReportMetric(float64(ideal)/float64(b.N), "ideal-req/op")
			b.ReportMetric(float64(st.TokenRequests), "token-req")
		})
	}
}

// BenchmarkColdRefresh fills an empty cache of G groups whose fetch takes P
// sequential pages of latency L each, C groups at a time, and reports the
// wall time against the ideal schedule ceil(G/C) x P x L.
func BenchmarkColdRefresh(b *testing.B) {
	const pages = 3
	usage := syntheticUsage(200)
	for _, tc := range []struct {
		groups, concurrency int
		latency             time.Duration
	}{
		{1, 4, 5 * time.Millisecond}, {10, 4, 5 * time.Millisecond}, {100, 4, 5 * time.Millisecond},
		{1000, 4, 5 * time.Millisecond}, {1000, 16, 5 * time.Millisecond}, {1000, 64, 5 * time.Millisecond},
		// With a latency nearer a real API's, building snapshots (CPU) no
		// longer competes with the waits at high concurrency.
		{1000, 16, 50 * time.Millisecond}, {1000, 64, 50 * time.Millisecond},
	} {
		b.Run(fmt.Sprintf("groups=%d/concurrency=%d/latency=%s", tc.groups, tc.concurrency, tc.latency), func(b *testing.B) {
			latency := tc.latency
			f := &pagedFetcher{usage: usage, pages: pages, latency: latency}
			groups := benchGroups(tc.groups)
			ideal := time.Duration(math.Ceil(float64(tc.groups)/float64(tc.concurrency))) * pages * latency
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				cache := NewCache(f, monthly(time.Hour, groups...), CacheOptions{Concurrency: tc.concurrency, RefreshTimeout: time.Minute})
				start := time.Now()
				st := cache.Get(context.Background())
				total += time.Since(start)
				if st.Groups[len(st.Groups)-1].Periods[ThisMonth].Snapshot == nil {
					b.Fatal("Get returned before every group was refreshed")
				}
				cache.Close()
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(ideal), "x-ideal")
			b.ReportMetric(float64(ideal.Nanoseconds()), "ideal-ns")
		})
	}
}

// BenchmarkColdRefreshHTTP is BenchmarkColdRefresh through the real client
// and the simulated Usage API, every records request slowed by L: the
// difference to the ideal is what HTTP, JSON decoding and the token cost.
func BenchmarkColdRefreshHTTP(b *testing.B) {
	const (
		latency  = 20 * time.Millisecond
		pageSize = 25
	)
	for _, tc := range []struct{ groups, concurrency int }{{4, 4}, {16, 4}, {64, 16}} {
		b.Run(fmt.Sprintf("groups=%d/concurrency=%d", tc.groups, tc.concurrency), func(b *testing.B) {
			var simGroups []usagesim.Group
			var groups []Group
			for i := range tc.groups {
				// Categories 0 = the whole catalogue: every group has the same
				// records, so the same number of pages.
				g := usagesim.Group{ID: fmt.Sprintf("commerce_billingprofile_HTTP%03d", i), Currency: "USD", Seed: int64(i + 1)}
				simGroups = append(simGroups, g)
				groups = append(groups, Group{ID: g.ID, Label: g.ID})
			}
			now := time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
			sim := usagesim.New(usagesim.Options{Now: func() time.Time { return now }, Groups: simGroups})
			records, _ := sim.Records(simGroups[0].ID, "THIS_MONTH")
			pages := (len(records) + pageSize - 1) / pageSize
			sim.InjectFault(usagesim.Fault{Kind: usagesim.Slow, Delay: latency})
			client := simtest.Client(b, simtest.Start(b, sim), pageSize, nil)
			ideal := time.Duration(math.Ceil(float64(tc.groups)/float64(tc.concurrency))) * time.Duration(pages) * latency
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				cache := NewCache(client, monthly(time.Hour, groups...), CacheOptions{Concurrency: tc.concurrency, RefreshTimeout: time.Minute})
				start := time.Now()
				st := cache.Get(context.Background())
				total += time.Since(start)
				for _, gs := range st.Groups {
					if !gs.Periods[ThisMonth].Up {
						b.Fatalf("group %s not refreshed", gs.Group.ID)
					}
				}
				cache.Close()
			}
			b.StopTimer() // closing the simulator is no part of it
			b.ReportMetric(float64(total)/float64(b.N)/float64(ideal), "x-ideal")
			b.ReportMetric(float64(ideal.Nanoseconds()), "ideal-ns")
			b.ReportMetric(float64(pages), "pages")
		})
	}
}
