package backfill

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// BenchmarkBackfill backfills G groups x 200 categories from the simulated
// Usage API, every records request slowed by a realistic page latency, for
// 3 and 12 months ending yesterday. It reports wall time, records requests
// against the ideal (groups x pages, with the API's largest range of 365
// days and page size 1000), samples, bytes of blocks and the process' peak
// resident memory (VmHWM: the simulator runs in the same process). Run each
// case in its own process, since VmHWM only grows:
//
//	go test -run '^$' -bench 'Backfill/months=12' -benchtime=1x ./backfill/
func BenchmarkBackfill(b *testing.B) {
	// A small case, to compare memory across changes quickly.
	b.Run("months=1/groups=2/categories=200", func(b *testing.B) { benchmarkBackfill(b, 1, 2, 200, 0) })
	// 100 groups for one month: the backfill's memory follows one month's
	// series, so this is the peak of 100 groups over any range.
	b.Run("months=1/groups=100/categories=200", func(b *testing.B) { benchmarkBackfill(b, 1, 100, 200, 250*time.Millisecond) })
	for _, months := range []int{3, 12} {
		b.Run(fmt.Sprintf("months=%d/groups=10/categories=200", months), func(b *testing.B) {
			benchmarkBackfill(b, months, 10, 200, 250*time.Millisecond)
		})
	}
}

func benchmarkBackfill(b *testing.B, months, groups, categories int, latency time.Duration) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	to := Yesterday(now)
	from := to.AddDate(0, -months, 1)
	var simGroups []usagesim.Group
	var cgroups []collector.Group
	for i := range groups {
		g := usagesim.Group{ID: fmt.Sprintf("commerce_billingprofile_BENCH%02d", i), Currency: "USD", Categories: categories, Scale: 10, Seed: int64(i + 1)}
		simGroups = append(simGroups, g)
		cgroups = append(cgroups, collector.Group{ID: g.ID, Label: fmt.Sprintf("group-%02d", i), TTL: [collector.NumPeriods]time.Duration{collector.ThisMonth: time.Hour, collector.Yesterday: time.Hour, collector.LastMonth: time.Hour},
			Budget: &collector.Budget{Amount: 10000, Currency: "USD"}})
	}
	sim := usagesim.New(usagesim.Options{Groups: simGroups, Now: func() time.Time { return now }, TokenTTL: 24 * time.Hour})
	if latency > 0 {
		sim.InjectFault(usagesim.Fault{Kind: usagesim.Slow, Delay: latency})
	}
	const pageSize = 1000
	client := simtest.Client(b, simtest.Start(b, sim), pageSize, retries)

	// The ideal: every record of the fetched days (from the 1st of the
	// month before From) in as few pages as 365-day ranges allow.
	fetchStart := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	ideal := 0
	for _, g := range simGroups {
		for s := fetchStart; !s.After(to); s = s.AddDate(0, 0, 365) {
			e := min(s.AddDate(0, 0, 364).Unix(), to.Unix())
			n := len(sim.DailyRecords(g.ID, s.Format(twilio.DateLayout), time.Unix(e, 0).UTC().Format(twilio.DateLayout)))
			ideal += (n + pageSize - 1) / pageSize
		}
	}
	hwmBefore := vmHWM(b)
	var res Result
	b.ResetTimer()
	for range b.N {
		dir := b.TempDir()
		sim.ResetStats()
		var err error
		res, err = Run(context.Background(), Options{
			Fetcher: client, Groups: cgroups, From: from, To: to, OutputDir: dir, Concurrency: 4,
			Labels: map[string]string{"job": "twilio_billing", "instance": "exporter:10117"},
			Now:    func() time.Time { return now },
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st := sim.Stats()
	b.ReportMetric(float64(st.RecordsRequests), "records-req")
	b.ReportMetric(float64(ideal), "ideal-req")
	b.ReportMetric(float64(st.RecordsRequests)/float64(ideal), "x-ideal")
	b.ReportMetric(float64(res.Series), "series")
	b.ReportMetric(float64(res.Samples), "samples")
	b.ReportMetric(float64(res.Bytes)/(1<<20), "block-MiB")
	b.ReportMetric(float64(res.Bytes)/float64(res.Samples), "bytes/sample")
	b.ReportMetric(float64(vmHWM(b))/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(hwmBefore)/1024, "RSS-before-MiB")
}

// vmHWM is the process' peak resident memory in KiB.
func vmHWM(tb testing.TB) int64 {
	body, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// retries keeps the client's default attempts per page, as the backfill
// command's client has.
func retries(c *twilio.Config) { c.MaxAttempts = 0 }
