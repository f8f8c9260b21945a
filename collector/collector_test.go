package collector

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	idA = "commerce_billingprofile_AAA111"
	idB = "commerce_billingprofile_BBB222"
)

// fakeFetcher answers FetchRecords from per-group results, counting calls.
// A group with a gate blocks until the gate is closed or ctx is done.
type fakeFetcher struct {
	mu      sync.Mutex
	results map[string]*twilio.Usage
	errs    map[string]error
	gates   map[string]chan struct{}
	calls   map[string]*atomic.Int32
	queries []twilio.Query
	// entered, if set, receives the ID of each fetch as it starts, before
	// its gate: tests wait on it instead of on the clock.
	entered chan string
}

func newFake() *fakeFetcher {
	return &fakeFetcher{
		results: map[string]*twilio.Usage{},
		errs:    map[string]error{},
		gates:   map[string]chan struct{}{},
		calls:   map[string]*atomic.Int32{idA: {}, idB: {}},
	}
}

func (f *fakeFetcher) set(id string, u *twilio.Usage, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[id], f.errs[id] = u, err
}

func (f *fakeFetcher) gate(id string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := make(chan struct{})
	f.gates[id] = g
	return g
}

func (f *fakeFetcher) count(id string) int { return int(f.calls[id].Load()) }

func (f *fakeFetcher) FetchRecords(ctx context.Context, id string, q twilio.Query) (*twilio.Usage, error) {
	f.calls[id].Add(1)
	f.mu.Lock()
	g, entered := f.gates[id], f.entered
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if entered != nil {
		entered <- id
	}
	if g != nil {
		select {
		case <-g:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.results[id], f.errs[id]
}

func date(s string) time.Time {
	t, err := time.Parse(twilio.DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func rec(product, category, unit string, usage float64, cost float64, currency string) twilio.Record {
	return twilio.Record{ProductName: product, ProductCategory: category, UsageUnit: unit, UsageAmount: dec(usage), PriceAmount: dec(cost), Currency: currency}
}

// dec is the decimal a float64 literal in a test means: its shortest form.
func dec(f float64) twilio.Decimal {
	return testsupport.Decimal(strconv.FormatFloat(f, 'f', -1, 64))
}

// usageA has two products in one category and one category with two units.
func usageA(asOf string) *twilio.Usage {
	return &twilio.Usage{AsOf: date(asOf), Pages: 1, Records: []twilio.Record{
		rec("United States-Outbound-SMS", "sms-outbound", "segments", 1000, 7.9, "USD"),
		rec("Canada-Outbound-SMS", "sms-outbound", "segments", 500, 4.15, "USD"),
		rec("Recordings-Storage", "recordings", "GB", 2.5, 0.25, "USD"),
		rec("Recordings-Minutes", "recordings", "minutes", 120, 0.3, "USD"),
	}}
}

func usageB(asOf string, cost float64) *twilio.Usage {
	return &twilio.Usage{AsOf: date(asOf), Pages: 1, Records: []twilio.Record{
		rec("Verify-SMS", "verify", "verifications", 40, cost, "EUR"),
	}}
}

type harness struct {
	fake  *fakeFetcher
	clock *testsupport.Clock
	cache *Cache
}

func newHarness(t *testing.T, groups []Group) *harness {
	t.Helper()
	h := &harness{fake: newFake(), clock: testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))}
	h.cache = NewCache(h.fake, monthly(15*time.Minute, groups...), CacheOptions{RetryInterval: time.Minute, Now: h.clock.Now, Concurrency: 2})
	t.Cleanup(h.cache.Close)
	return h
}

// scrape collects one scrape with a deadline of d and compares the
// exposition of the named metrics with want. The scrape waits for the
// refreshes it starts, which the fake answers at once: tests that expect the
// data pass a minute, which only bounds a hang, so a slow machine fails none.
func (h *harness) scrape(t *testing.T, d time.Duration, want string, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := testutil.CollectAndCompare(New(h.cache.Get(ctx)), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

// The groups of most tests, with the harness's month-to-date lifetime.
var (
	groupA = monthly(15*time.Minute, Group{ID: idA, Label: "marketing", Budget: &Budget{Amount: 5000, Currency: "USD"}})[0]
	groupB = monthly(15*time.Minute, Group{ID: idB, Label: idB})[0]
)

// monthly returns groups with month to date's lifetime set to ttl, as
// --cache.ttl sets it.
func monthly(ttl time.Duration, groups ...Group) []Group {
	out := make([]Group, len(groups))
	for i, g := range groups {
		g.TTL[ThisMonth] = ttl
		out[i] = g
	}
	return out
}

const costHelp = "# HELP twilio_billing_group_cost Estimated cost of the billing group's usage this month (UTC) to date, from Twilio's Usage API; an estimate, the invoice is authoritative. Served from a cache refreshed every --cache.ttl, so it may be that old plus the API's own delay (see as_of).\n# TYPE twilio_billing_group_cost gauge\n"
const usageHelp = "# HELP twilio_billing_group_usage Usage amount of the billing group this month (UTC) to date, in the unit label's unit; an estimate. Served from a cache refreshed every --cache.ttl, so it may be that old plus the API's own delay (see as_of).\n# TYPE twilio_billing_group_usage gauge\n"
const upHelp = "# HELP twilio_billing_group_up 1 if the latest refresh of the billing group from the Usage API succeeded, else 0.\n# TYPE twilio_billing_group_up gauge\n"

func TestCollectSumsCollidingRecords(t *testing.T) {
	h := newHarness(t, []Group{groupA})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="marketing",currency="USD",product_category="recordings"} 0.55
twilio_billing_group_cost{billing_group="marketing",currency="USD",product_category="sms-outbound"} 12.05
`+usageHelp+`
twilio_billing_group_usage{billing_group="marketing",product_category="recordings",unit="GB"} 2.5
twilio_billing_group_usage{billing_group="marketing",product_category="recordings",unit="minutes"} 120
twilio_billing_group_usage{billing_group="marketing",product_category="sms-outbound",unit="segments"} 1500
# HELP twilio_billing_group_product_info Human-readable name of a product seen in a product category; always 1.
# TYPE twilio_billing_group_product_info gauge
twilio_billing_group_product_info{product="Canada-Outbound-SMS",product_category="sms-outbound"} 1
twilio_billing_group_product_info{product="Recordings-Minutes",product_category="recordings"} 1
twilio_billing_group_product_info{product="Recordings-Storage",product_category="recordings"} 1
twilio_billing_group_product_info{product="United States-Outbound-SMS",product_category="sms-outbound"} 1
# HELP twilio_billing_group_budget Monthly budget configured for the billing group.
# TYPE twilio_billing_group_budget gauge
twilio_billing_group_budget{billing_group="marketing",currency="USD"} 5000
# HELP twilio_billing_group_period_start_timestamp_seconds Start of the billing month the cost covers (00:00 UTC on the 1st), as a Unix timestamp.
# TYPE twilio_billing_group_period_start_timestamp_seconds gauge
twilio_billing_group_period_start_timestamp_seconds{billing_group="marketing"} 1.7934912e+09
# HELP twilio_billing_group_period_end_timestamp_seconds End of the billing month the cost covers (00:00 UTC on the 1st of the next month), as a Unix timestamp.
# TYPE twilio_billing_group_period_end_timestamp_seconds gauge
twilio_billing_group_period_end_timestamp_seconds{billing_group="marketing"} 1.7960832e+09
# HELP twilio_billing_group_as_of_timestamp_seconds The Usage API's asOf date for the served data (00:00 UTC of that day), as a Unix timestamp.
# TYPE twilio_billing_group_as_of_timestamp_seconds gauge
twilio_billing_group_as_of_timestamp_seconds{billing_group="marketing"} 1.7956512e+09
# HELP twilio_billing_group_records Usage records the API returned in the served snapshot, before category filtering.
# TYPE twilio_billing_group_records gauge
twilio_billing_group_records{billing_group="marketing"} 4
`+upHelp+`
twilio_billing_group_up{billing_group="marketing"} 1
# HELP twilio_billing_group_last_success_timestamp_seconds When the latest successful refresh of the billing group finished, as a Unix timestamp.
# TYPE twilio_billing_group_last_success_timestamp_seconds gauge
twilio_billing_group_last_success_timestamp_seconds{billing_group="marketing"} 1.7956890e+09
`, "twilio_billing_group_cost", "twilio_billing_group_usage", "twilio_billing_group_product_info", "twilio_billing_group_budget",
		"twilio_billing_group_period_start_timestamp_seconds", "twilio_billing_group_period_end_timestamp_seconds",
		"twilio_billing_group_as_of_timestamp_seconds", "twilio_billing_group_records", "twilio_billing_group_up",
		"twilio_billing_group_last_success_timestamp_seconds")
	if q := h.fake.queries[0]; q.TimePeriod != twilio.ThisMonth {
		t.Errorf("query time period = %q, want THIS_MONTH", q.TimePeriod)
	}
}

func TestCategoryFilters(t *testing.T) {
	g := groupA
	g.Budget = nil
	g.Include = regexp.MustCompile("^(sms|recordings)")
	g.Exclude = regexp.MustCompile("^recordings$")
	h := newHarness(t, []Group{g})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="marketing",currency="USD",product_category="sms-outbound"} 12.05
`, "twilio_billing_group_cost")
}

func TestFailingGroupBesideHealthyOne(t *testing.T) {
	h := newHarness(t, []Group{groupA, groupB})
	h.fake.set(idA, nil, errors.New("twilio: HTTP 404: code 20404: not found"))
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 1.5
`+upHelp+`
twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
twilio_billing_group_up{billing_group="marketing"} 0
# HELP twilio_billing_group_budget Monthly budget configured for the billing group.
# TYPE twilio_billing_group_budget gauge
twilio_billing_group_budget{billing_group="marketing",currency="USD"} 5000
`, "twilio_billing_group_cost", "twilio_billing_group_up", "twilio_billing_group_budget")
}

func TestStaleOnError(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
`, "twilio_billing_group_up")

	h.clock.Add(16 * time.Minute) // past the TTL: the next scrape refreshes, and that fails
	h.fake.set(idB, nil, errors.New("twilio: records: HTTP 503"))
	want := costHelp + `
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 1.5
` + upHelp + `twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 0
# HELP twilio_billing_group_last_success_timestamp_seconds When the latest successful refresh of the billing group finished, as a Unix timestamp.
# TYPE twilio_billing_group_last_success_timestamp_seconds gauge
twilio_billing_group_last_success_timestamp_seconds{billing_group="commerce_billingprofile_BBB222"} 1.7956890e+09
`
	h.scrape(t, time.Minute, want, "twilio_billing_group_cost", "twilio_billing_group_up", "twilio_billing_group_last_success_timestamp_seconds")
	if got := h.fake.count(idB); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
	// Within the retry interval a failed group is not fetched on every scrape.
	h.clock.Add(30 * time.Second)
	h.scrape(t, time.Minute, want, "twilio_billing_group_cost", "twilio_billing_group_up", "twilio_billing_group_last_success_timestamp_seconds")
	if got := h.fake.count(idB); got != 2 {
		t.Fatalf("fetches within the retry interval = %d, want 2", got)
	}
	// After it, the group is retried and recovers.
	h.clock.Add(31 * time.Second)
	h.fake.set(idB, usageB("2026-11-26", 2.25), nil)
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 2.25
`+upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
`, "twilio_billing_group_cost", "twilio_billing_group_up")
}

func TestMonthRolloverNeverServesLastMonth(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.clock.Set(time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC))
	h.fake.set(idB, usageB("2026-11-30", 900), nil)
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 900
`, "twilio_billing_group_cost")

	// Two minutes later it is December, well within the TTL, and the API fails:
	// November's 900 must not appear as December's cost.
	h.clock.Set(time.Date(2026, 12, 1, 0, 1, 0, 0, time.UTC))
	h.fake.set(idB, nil, errors.New("twilio: records: HTTP 500"))
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 0
`, "twilio_billing_group_cost", "twilio_billing_group_up", "twilio_billing_group_period_start_timestamp_seconds")

	// When the API answers, December's bounds and cost appear.
	h.clock.Add(2 * time.Minute)
	h.fake.set(idB, usageB("2026-12-01", 0.05), nil)
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 0.05
# HELP twilio_billing_group_period_start_timestamp_seconds Start of the billing month the cost covers (00:00 UTC on the 1st), as a Unix timestamp.
# TYPE twilio_billing_group_period_start_timestamp_seconds gauge
twilio_billing_group_period_start_timestamp_seconds{billing_group="commerce_billingprofile_BBB222"} 1.7960832e+09
# HELP twilio_billing_group_period_end_timestamp_seconds End of the billing month the cost covers (00:00 UTC on the 1st of the next month), as a Unix timestamp.
# TYPE twilio_billing_group_period_end_timestamp_seconds gauge
twilio_billing_group_period_end_timestamp_seconds{billing_group="commerce_billingprofile_BBB222"} 1.7987616e+09
`, "twilio_billing_group_cost", "twilio_billing_group_period_start_timestamp_seconds", "twilio_billing_group_period_end_timestamp_seconds")
}

// TestConcurrentScrapesRefreshOnce: 50 scrapes that all find both groups
// stale at once cause one fetch per group. The refreshes are held until
// every scrape has looked (counted by the clock reads: one per scrape, two
// per refresh started), so they are all in flight together.
func TestConcurrentScrapesRefreshOnce(t *testing.T) {
	h := newHarness(t, []Group{groupA, groupB})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	const scrapers = 50
	var reads atomic.Int64
	looked := make(chan struct{})
	h.cache.Close()
	h.cache = NewCache(h.fake, monthly(15*time.Minute, groupA, groupB), CacheOptions{RetryInterval: time.Minute, Concurrency: 2,
		Now: func() time.Time {
			if reads.Add(1) == scrapers+2*2 {
				close(looked)
			}
			return h.clock.Now()
		}})
	t.Cleanup(h.cache.Close)
	gateA, gateB := h.fake.gate(idA), h.fake.gate(idB)
	var wg sync.WaitGroup
	errs := make(chan error, scrapers)
	for range scrapers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			n, err := testutil.GatherAndCount(registryFor(New(h.cache.Get(ctx))), "twilio_billing_group_cost")
			if err == nil && n != 3 {
				err = errors.New("cost series: got " + itoa(n) + ", want 3")
			}
			errs <- err
		})
	}
	// Every scraper has found the groups stale and both refreshes are
	// held: release them.
	<-looked
	close(gateA)
	close(gateB)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if a, b := h.fake.count(idA), h.fake.count(idB); a != 1 || b != 1 {
		t.Fatalf("fetches: %s=%d %s=%d, want 1 each", idA, a, idB, b)
	}
	// Fresh snapshots are served from memory.
	h.clock.Add(14 * time.Minute)
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
twilio_billing_group_up{billing_group="marketing"} 1
`, "twilio_billing_group_up")
	if a, b := h.fake.count(idA), h.fake.count(idB); a != 1 || b != 1 {
		t.Fatalf("fetches while fresh: %d and %d, want 1 each", a, b)
	}
}

func TestScrapeDeadlineServesLastGoodSnapshot(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 1.5
`, "twilio_billing_group_cost")

	h.clock.Add(20 * time.Minute)
	gate := h.fake.gate(idB)
	h.fake.set(idB, usageB("2026-11-26", 3), nil)
	h.fake.entered = make(chan string, 16)
	// The scrape's deadline passes once its refresh is under way and
	// hanging: it answers with the last good snapshot (were it to wait for
	// the refresh, it would never answer, as the gate opens only after).
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-h.fake.entered; cancel() }()
	if err := testutil.CollectAndCompare(New(h.cache.Get(ctx)), strings.NewReader(costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 1.5
`+upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
`), "twilio_billing_group_cost", "twilio_billing_group_up"); err != nil {
		t.Fatal(err)
	}
	// The refresh goes on in the background; once it lands, scrapes see it
	// without another fetch.
	close(gate)
	waitFor(t, func() bool {
		st := h.cache.state(h.clock.Now())
		s := st.Groups[0].Periods[ThisMonth].Snapshot
		return s != nil && s.Costs[0].Value == 3
	})
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 3
`, "twilio_billing_group_cost")
	if got := h.fake.count(idB); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
}

func TestSetGroupsKeepsUnchangedGroupsCache(t *testing.T) {
	h := newHarness(t, []Group{groupA, groupB})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
twilio_billing_group_up{billing_group="marketing"} 1
`, "twilio_billing_group_up")

	// Reload: A is renamed and its budget changes (cache kept), B gains a
	// category filter (refetched), a third group C... is not added here; B's
	// change alone must cost one fetch.
	a := groupA
	a.Label, a.Budget = "growth", &Budget{Amount: 100, Currency: "USD"}
	b := groupB
	b.Exclude = regexp.MustCompile("^nothing$")
	h.cache.SetGroups([]Group{b, a})
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
twilio_billing_group_up{billing_group="growth"} 1
# HELP twilio_billing_group_budget Monthly budget configured for the billing group.
# TYPE twilio_billing_group_budget gauge
twilio_billing_group_budget{billing_group="growth",currency="USD"} 100
`, "twilio_billing_group_up", "twilio_billing_group_budget")
	if a, b := h.fake.count(idA), h.fake.count(idB); a != 1 || b != 2 {
		t.Fatalf("fetches after reload: A=%d B=%d, want A=1 (kept) B=2 (filter changed)", a, b)
	}
	// Removing a group drops its series and its products.
	h.cache.SetGroups([]Group{b})
	h.scrape(t, time.Minute, `# HELP twilio_billing_group_product_info Human-readable name of a product seen in a product category; always 1.
# TYPE twilio_billing_group_product_info gauge
twilio_billing_group_product_info{product="Verify-SMS",product_category="verify"} 1
`, "twilio_billing_group_product_info")
}

func TestLogsEachFailureOnce(t *testing.T) {
	var buf testsupport.SyncBuffer
	fake := newFake()
	clk := testsupport.NewClock(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	c := NewCache(fake, monthly(time.Minute, groupB), CacheOptions{RetryInterval: time.Minute, Now: clk.Now, Logger: newLogfmt(&buf), Concurrency: 4})
	defer c.Close()
	fake.set(idB, nil, errors.New("twilio: records: HTTP 503"))
	for range 5 {
		c.Get(context.Background())
		clk.Add(2 * time.Minute)
	}
	fake.set(idB, usageB("2026-11-26", 1), nil)
	c.Get(context.Background())
	got := buf.String()
	want := `level=error billing_group=commerce_billingprofile_BBB222 msg="Refresh failed; serving the last good data of this month, if any" err="twilio: records: HTTP 503"
level=info billing_group=commerce_billingprofile_BBB222 msg="Refresh succeeded again" records=1
`
	if got != want {
		t.Fatalf("log:\n%s\nwant:\n%s", got, want)
	}
	if n := fake.count(idB); n != 6 {
		t.Fatalf("fetches = %d, want 6", n)
	}
}

func registryFor(c prometheus.Collector) *prometheus.Registry {
	r := prometheus.NewPedanticRegistry()
	r.MustRegister(c)
	return r
}

// waitFor polls cond until it holds; the minute only bounds a hang.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// newLogfmt logs at info level and above, as the exporter does by default.
func newLogfmt(w io.Writer) log.Logger {
	return level.NewFilter(log.NewLogfmtLogger(w), level.AllowInfo())
}
