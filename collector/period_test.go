package collector

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// periodFake answers per billing group and Usage API time period, counting
// calls per period.
type periodFake struct {
	mu      sync.Mutex
	results map[twilio.TimePeriod]*twilio.Usage
	errs    map[twilio.TimePeriod]error
	calls   map[twilio.TimePeriod]int
}

func newPeriodFake() *periodFake {
	return &periodFake{results: map[twilio.TimePeriod]*twilio.Usage{}, errs: map[twilio.TimePeriod]error{}, calls: map[twilio.TimePeriod]int{}}
}

func (f *periodFake) set(p twilio.TimePeriod, u *twilio.Usage, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[p], f.errs[p] = u, err
}

func (f *periodFake) count(p twilio.TimePeriod) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[p]
}

func (f *periodFake) FetchRecords(_ context.Context, _ string, q twilio.Query) (*twilio.Usage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[q.TimePeriod]++
	if f.results[q.TimePeriod] == nil && f.errs[q.TimePeriod] == nil {
		return nil, errors.New("periodFake: no answer set for " + string(q.TimePeriod))
	}
	return f.results[q.TimePeriod], f.errs[q.TimePeriod]
}

func verify(cost float64, asOf string) *twilio.Usage {
	return &twilio.Usage{AsOf: date(asOf), Pages: 1, Records: []twilio.Record{
		rec("Verify-SMS", "verify", "verifications", 40, cost/2, "EUR"),
		rec("Verify-WhatsApp", "verify", "verifications", 10, cost/2, "EUR"),
	}}
}

type periodHarness struct {
	fake  *periodFake
	clock *testsupport.Clock
	cache *Cache
}

func newPeriodHarness(t *testing.T, now time.Time) *periodHarness {
	t.Helper()
	h := &periodHarness{fake: newPeriodFake(), clock: testsupport.NewClock(now)}
	g := Group{ID: idB, Label: "support", TTL: [NumPeriods]time.Duration{Yesterday: time.Hour, LastMonth: 6 * time.Hour, ThisYear: 6 * time.Hour}}
	h.cache = NewCache(h.fake, monthly(15*time.Minute, g), CacheOptions{RetryInterval: time.Minute, Now: h.clock.Now, Concurrency: 4})
	t.Cleanup(h.cache.Close)
	return h
}

// serveDefaults makes the API answer every period: 30 this month, 1.5
// yesterday, 41 last month, 300 this year.
func (h *periodHarness) serveDefaults() {
	h.fake.set(twilio.ThisMonth, verify(30, "2026-11-26"), nil)
	h.fake.set(twilio.Yesterday, verify(1.5, "2026-11-25"), nil)
	h.fake.set(twilio.LastMonth, verify(41, "2026-10-31"), nil)
	h.fake.set(twilio.ThisYear, verify(300, "2026-11-26"), nil)
}

func (h *periodHarness) scrape(t *testing.T, want string, names ...string) {
	t.Helper()
	// The scrape waits for the refreshes it starts; a minute only bounds a hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := testutil.CollectAndCompare(New(h.cache.Get(ctx)), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

const (
	yesterdayCostHelp = "# HELP twilio_billing_group_yesterday_cost Estimated cost of the billing group's usage yesterday (UTC), from Twilio's Usage API; an estimate, the invoice is authoritative. Served from a cache refreshed every periods.yesterday.cache_ttl.\n# TYPE twilio_billing_group_yesterday_cost gauge\n"
	yesterdayUpHelp   = "# HELP twilio_billing_group_yesterday_up 1 if the latest refresh of the billing group's yesterday usage succeeded, else 0.\n# TYPE twilio_billing_group_yesterday_up gauge\n"
	lastMonthCostHelp = "# HELP twilio_billing_group_last_month_cost Estimated cost of the billing group's usage last month (UTC); it keeps changing for days after the 1st as late usage arrives, from Twilio's Usage API; an estimate, the invoice is authoritative. Served from a cache refreshed every periods.last_month.cache_ttl.\n# TYPE twilio_billing_group_last_month_cost gauge\n"
	lastMonthBounds   = `# HELP twilio_billing_group_last_month_period_start_timestamp_seconds Start of the period the last_month cost covers (00:00 UTC on the 1st of last month), as a Unix timestamp.
# TYPE twilio_billing_group_last_month_period_start_timestamp_seconds gauge
twilio_billing_group_last_month_period_start_timestamp_seconds{billing_group="support"} %s
# HELP twilio_billing_group_last_month_period_end_timestamp_seconds End of the period the last_month cost covers (00:00 UTC on the 1st of this month), as a Unix timestamp.
# TYPE twilio_billing_group_last_month_period_end_timestamp_seconds gauge
twilio_billing_group_last_month_period_end_timestamp_seconds{billing_group="support"} %s
`
)

func TestOptionalPeriodsExposition(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
	h.serveDefaults()
	h.scrape(t, costHelp+`twilio_billing_group_cost{billing_group="support",currency="EUR",product_category="verify"} 30
`+yesterdayCostHelp+`twilio_billing_group_yesterday_cost{billing_group="support",currency="EUR",product_category="verify"} 1.5
# HELP twilio_billing_group_yesterday_usage Usage amount of the billing group yesterday (UTC), in the unit label's unit; an estimate. Served from a cache refreshed every periods.yesterday.cache_ttl.
# TYPE twilio_billing_group_yesterday_usage gauge
twilio_billing_group_yesterday_usage{billing_group="support",product_category="verify",unit="verifications"} 50
# HELP twilio_billing_group_yesterday_period_start_timestamp_seconds Start of the period the yesterday cost covers (00:00 UTC yesterday), as a Unix timestamp.
# TYPE twilio_billing_group_yesterday_period_start_timestamp_seconds gauge
twilio_billing_group_yesterday_period_start_timestamp_seconds{billing_group="support"} 1.7955648e+09
# HELP twilio_billing_group_yesterday_period_end_timestamp_seconds End of the period the yesterday cost covers (00:00 UTC today), as a Unix timestamp.
# TYPE twilio_billing_group_yesterday_period_end_timestamp_seconds gauge
twilio_billing_group_yesterday_period_end_timestamp_seconds{billing_group="support"} 1.7956512e+09
`+yesterdayUpHelp+`twilio_billing_group_yesterday_up{billing_group="support"} 1
`+lastMonthCostHelp+`twilio_billing_group_last_month_cost{billing_group="support",currency="EUR",product_category="verify"} 41
`+sprintfBounds("1.7908128e+09", "1.7934912e+09")+`# HELP twilio_billing_group_last_month_up 1 if the latest refresh of the billing group's last_month usage succeeded, else 0.
# TYPE twilio_billing_group_last_month_up gauge
twilio_billing_group_last_month_up{billing_group="support"} 1
`, "twilio_billing_group_cost", "twilio_billing_group_yesterday_cost", "twilio_billing_group_yesterday_usage",
		"twilio_billing_group_yesterday_period_start_timestamp_seconds", "twilio_billing_group_yesterday_period_end_timestamp_seconds",
		"twilio_billing_group_yesterday_up", "twilio_billing_group_last_month_cost",
		"twilio_billing_group_last_month_period_start_timestamp_seconds", "twilio_billing_group_last_month_period_end_timestamp_seconds",
		"twilio_billing_group_last_month_up")

	// Each period is fetched once, whatever the number of scrapes, and
	// served from memory within its own lifetime.
	for range 5 {
		h.scrape(t, "", "no_such_metric")
	}
	h.clock.Add(50 * time.Minute) // month to date expired, yesterday (1h) not
	h.scrape(t, "", "no_such_metric")
	for p, want := range map[twilio.TimePeriod]int{twilio.ThisMonth: 2, twilio.Yesterday: 1, twilio.LastMonth: 1} {
		if got := h.fake.count(p); got != want {
			t.Errorf("%s fetches = %d, want %d", p, got, want)
		}
	}
}

func sprintfBounds(start, end string) string {
	return strings.Replace(strings.Replace(lastMonthBounds, "%s", start, 1), "%s", end, 1)
}

// At 00:00 UTC yesterday's snapshot is never served as the new yesterday,
// even within its lifetime and when the API then fails; a failure within the
// same day keeps serving the last good snapshot.
func TestYesterdayRollsOverAtMidnight(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC))
	h.serveDefaults()
	h.scrape(t, yesterdayCostHelp+`twilio_billing_group_yesterday_cost{billing_group="support",currency="EUR",product_category="verify"} 1.5
`, "twilio_billing_group_yesterday_cost")

	// Same day, past the lifetime, the API fails: last good data, up 0.
	h.clock.Set(time.Date(2026, 11, 26, 23, 45, 0, 0, time.UTC))
	h.fake.set(twilio.Yesterday, nil, errors.New("twilio: HTTP 503"))
	h.clock.Add(16 * time.Minute) // 00:01 on the 27th: a new yesterday
	h.scrape(t, yesterdayUpHelp+`twilio_billing_group_yesterday_up{billing_group="support"} 0
`, "twilio_billing_group_yesterday_cost", "twilio_billing_group_yesterday_up")

	h.clock.Add(2 * time.Minute)
	h.fake.set(twilio.Yesterday, verify(2.5, "2026-11-26"), nil)
	h.scrape(t, yesterdayCostHelp+`twilio_billing_group_yesterday_cost{billing_group="support",currency="EUR",product_category="verify"} 2.5
`+yesterdayUpHelp+`twilio_billing_group_yesterday_up{billing_group="support"} 1
`, "twilio_billing_group_yesterday_cost", "twilio_billing_group_yesterday_up")
}

func TestYesterdayStaleOnErrorWithinTheDay(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC))
	h.serveDefaults()
	h.scrape(t, "", "no_such_metric")
	h.fake.set(twilio.Yesterday, nil, errors.New("twilio: HTTP 503"))
	h.clock.Add(2 * time.Hour)
	h.scrape(t, yesterdayCostHelp+`twilio_billing_group_yesterday_cost{billing_group="support",currency="EUR",product_category="verify"} 1.5
`+yesterdayUpHelp+`twilio_billing_group_yesterday_up{billing_group="support"} 0
`, "twilio_billing_group_yesterday_cost", "twilio_billing_group_yesterday_up")
	if got := h.fake.count(twilio.Yesterday); got != 2 {
		t.Fatalf("yesterday fetches = %d, want 2", got)
	}
}

// On the 1st last month's snapshot is fetched again, even within its
// lifetime: it now means a different month.
func TestLastMonthRefetchedOnThe1st(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC))
	h.fake.set(twilio.ThisMonth, verify(30, "2026-11-30"), nil)
	h.fake.set(twilio.Yesterday, verify(1.5, "2026-11-29"), nil)
	h.fake.set(twilio.LastMonth, verify(41, "2026-10-31"), nil)
	h.scrape(t, lastMonthCostHelp+`twilio_billing_group_last_month_cost{billing_group="support",currency="EUR",product_category="verify"} 41
`+sprintfBounds("1.7908128e+09", "1.7934912e+09"), "twilio_billing_group_last_month_cost",
		"twilio_billing_group_last_month_period_start_timestamp_seconds", "twilio_billing_group_last_month_period_end_timestamp_seconds")

	h.clock.Set(time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC)) // 1h05 later: within 6h
	h.fake.set(twilio.LastMonth, verify(55, "2026-11-30"), nil)
	h.scrape(t, lastMonthCostHelp+`twilio_billing_group_last_month_cost{billing_group="support",currency="EUR",product_category="verify"} 55
`+sprintfBounds("1.7934912e+09", "1.7960832e+09"), "twilio_billing_group_last_month_cost",
		"twilio_billing_group_last_month_period_start_timestamp_seconds", "twilio_billing_group_last_month_period_end_timestamp_seconds")
	if got := h.fake.count(twilio.LastMonth); got != 2 {
		t.Fatalf("last month fetches = %d, want 2", got)
	}
}

// A reload that switches a period off drops its series; one that leaves the
// group alone keeps every period's snapshot.
func TestSetGroupsPeriods(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
	h.serveDefaults()
	h.scrape(t, "", "no_such_metric")
	h.cache.SetGroups([]Group{{ID: idB, Label: "support", TTL: [NumPeriods]time.Duration{ThisMonth: 15 * time.Minute, Yesterday: 2 * time.Hour}}})
	h.scrape(t, yesterdayCostHelp+`twilio_billing_group_yesterday_cost{billing_group="support",currency="EUR",product_category="verify"} 1.5
`, "twilio_billing_group_yesterday_cost", "twilio_billing_group_last_month_cost", "twilio_billing_group_last_month_up")
	for p, want := range map[twilio.TimePeriod]int{twilio.ThisMonth: 1, twilio.Yesterday: 1, twilio.LastMonth: 1} {
		if got := h.fake.count(p); got != want {
			t.Errorf("%s fetches after reload = %d, want %d", p, got, want)
		}
	}
}

func TestPeriodBounds(t *testing.T) {
	for _, tc := range []struct {
		p          Period
		now        time.Time
		start, end string
	}{
		{ThisMonth, time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC), "2028-02-01", "2028-03-01"},
		{Yesterday, time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), "2028-02-29", "2028-03-01"},
		{Yesterday, time.Date(2027, 1, 1, 5, 0, 0, 0, time.FixedZone("UTC+8", 8*3600)), "2026-12-30", "2026-12-31"}, // 21:00 UTC on the 31st
		{LastMonth, time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), "2026-12-01", "2027-01-01"},
		{LastMonth, time.Date(2028, 3, 31, 23, 59, 0, 0, time.UTC), "2028-02-01", "2028-03-01"},
		{ThisYear, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), "2026-01-01", "2027-01-01"},
		{ThisYear, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2027-01-01", "2028-01-01"},
		{ThisYear, time.Date(2027, 1, 1, 5, 0, 0, 0, time.FixedZone("UTC+8", 8*3600)), "2026-01-01", "2027-01-01"}, // 21:00 UTC on the 31st
	} {
		start, end := tc.p.Bounds(tc.now, time.January)
		if got := start.Format(twilio.DateLayout) + ".." + end.Format(twilio.DateLayout); got != tc.start+".."+tc.end {
			t.Errorf("%s at %v: %s, want %s..%s", tc.p, tc.now, got, tc.start, tc.end)
		}
	}
}

// A fiscal year starts on the 1st of its month, in this calendar year or
// the last, and is asked as a range to today: the API names no such period.
// January, or no month, is the calendar year, asked as THIS_YEAR.
func TestFiscalYearBoundsAndQuery(t *testing.T) {
	for _, tc := range []struct {
		p          Period
		yearStart  time.Month
		now        time.Time
		start, end string
		query      string // timePeriod, or startDate..endDate
		parts      int    // requests FetchRecords sends the query in
	}{
		{ThisYear, time.April, time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC), "2026-04-01", "2027-04-01", "2026-04-01..2026-12-05", 1},
		{ThisYear, time.April, time.Date(2027, 3, 31, 23, 59, 59, 0, time.UTC), "2026-04-01", "2027-04-01", "2026-04-01..2027-03-31", 1},
		{ThisYear, time.April, time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), "2027-04-01", "2028-04-01", "2027-04-01..2027-04-01", 1},
		{ThisYear, time.April, time.Date(2027, 4, 1, 5, 0, 0, 0, time.FixedZone("UTC+8", 8*3600)), "2026-04-01", "2027-04-01", "2026-04-01..2027-03-31", 1}, // 21:00 UTC on 31 March
		// The 366th day of a fiscal year holding 29 February: two requests.
		{ThisYear, time.March, time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), "2023-03-01", "2024-03-01", "2023-03-01..2024-02-29", 2},
		{ThisYear, time.December, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), "2025-12-01", "2026-12-01", "2025-12-01..2026-11-30", 1},
		{ThisYear, time.December, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "2026-12-01", "2027-12-01", "2026-12-01..2026-12-01", 1},
		{ThisYear, time.January, time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC), "2026-01-01", "2027-01-01", "THIS_YEAR", 1},
		{ThisYear, 0, time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC), "2026-01-01", "2027-01-01", "THIS_YEAR", 1},
		{ThisMonth, time.April, time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC), "2026-12-01", "2027-01-01", "THIS_MONTH", 1},
		{LastMonth, time.April, time.Date(2026, 4, 5, 11, 0, 0, 0, time.UTC), "2026-03-01", "2026-04-01", "LAST_MONTH", 1},
	} {
		start, end := tc.p.Bounds(tc.now, tc.yearStart)
		if got := start.Format(twilio.DateLayout) + ".." + end.Format(twilio.DateLayout); got != tc.start+".."+tc.end {
			t.Errorf("%s from %s at %v: %s, want %s..%s", tc.p, tc.yearStart, tc.now, got, tc.start, tc.end)
		}
		q := tc.p.Query(tc.now, tc.yearStart)
		got := string(q.TimePeriod)
		if got == "" {
			got = q.StartDate + ".." + q.EndDate
		}
		if got != tc.query || len(q.Parts()) != tc.parts {
			t.Errorf("%s from %s at %v: query %s in %d parts, want %s in %d", tc.p, tc.yearStart, tc.now, got, len(q.Parts()), tc.query, tc.parts)
		}
	}
}

// TestEveryPeriodExportsAsOf: yesterday's figure is partial in the early
// UTC hours and last month's keeps growing for days, so each period says how
// fresh its data is, like month to date.
func TestEveryPeriodExportsAsOf(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC))
	h.serveDefaults()
	h.fake.set(twilio.Yesterday, verify(1.5, "2026-11-25"), nil)
	h.fake.set(twilio.LastMonth, verify(41, "2026-11-02"), nil)
	h.scrape(t, `# HELP twilio_billing_group_as_of_timestamp_seconds The Usage API's asOf date for the served data (00:00 UTC of that day), as a Unix timestamp.
# TYPE twilio_billing_group_as_of_timestamp_seconds gauge
twilio_billing_group_as_of_timestamp_seconds{billing_group="support"} 1.7956512e+09
# HELP twilio_billing_group_yesterday_as_of_timestamp_seconds The Usage API's asOf date for the served yesterday data (00:00 UTC of that day), as a Unix timestamp; until it passes the period's end, the figure is still growing.
# TYPE twilio_billing_group_yesterday_as_of_timestamp_seconds gauge
twilio_billing_group_yesterday_as_of_timestamp_seconds{billing_group="support"} 1.7955648e+09
# HELP twilio_billing_group_last_month_as_of_timestamp_seconds The Usage API's asOf date for the served last_month data (00:00 UTC of that day), as a Unix timestamp; until it passes the period's end, the figure is still growing.
# TYPE twilio_billing_group_last_month_as_of_timestamp_seconds gauge
twilio_billing_group_last_month_as_of_timestamp_seconds{billing_group="support"} 1.7935776e+09
`, "twilio_billing_group_as_of_timestamp_seconds", "twilio_billing_group_yesterday_as_of_timestamp_seconds",
		"twilio_billing_group_last_month_as_of_timestamp_seconds")

	// A period whose snapshot is not served has no asOf either.
	h.clock.Add(23 * time.Hour) // the 27th: yesterday's snapshot is of the 25th
	h.fake.set(twilio.Yesterday, nil, errors.New("API down"))
	h.scrape(t, "", "twilio_billing_group_yesterday_as_of_timestamp_seconds")
}
