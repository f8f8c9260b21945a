package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

const (
	thisYearCostHelp = "# HELP twilio_billing_group_this_year_cost Estimated cost of the billing group's usage this year to date: the calendar year (UTC), or the fiscal year where fiscal_year_start sets one (twilio_billing_fiscal_year_start_month), from Twilio's Usage API; an estimate, the invoice is authoritative. Served from a cache refreshed every periods.this_year.cache_ttl.\n# TYPE twilio_billing_group_this_year_cost gauge\n"
	thisYearUpHelp   = "# HELP twilio_billing_group_this_year_up 1 if the latest refresh of the billing group's this_year usage succeeded, else 0.\n# TYPE twilio_billing_group_this_year_up gauge\n"
	thisYearBounds   = `# HELP twilio_billing_group_this_year_period_start_timestamp_seconds Start of the period the this_year cost covers (00:00 UTC on the 1st of the year's first month: 1 January, or fiscal_year_start), as a Unix timestamp.
# TYPE twilio_billing_group_this_year_period_start_timestamp_seconds gauge
twilio_billing_group_this_year_period_start_timestamp_seconds{billing_group="support"} START
# HELP twilio_billing_group_this_year_period_end_timestamp_seconds End of the period the this_year cost covers (a year later), as a Unix timestamp.
# TYPE twilio_billing_group_this_year_period_end_timestamp_seconds gauge
twilio_billing_group_this_year_period_end_timestamp_seconds{billing_group="support"} END
`
)

var thisYearNames = []string{"twilio_billing_group_this_year_cost", "twilio_billing_group_this_year_usage",
	"twilio_billing_group_this_year_period_start_timestamp_seconds", "twilio_billing_group_this_year_period_end_timestamp_seconds",
	"twilio_billing_group_this_year_up", "twilio_billing_group_this_year_as_of_timestamp_seconds"}

func yearBounds(start, end string) string {
	return strings.NewReplacer("START", start, "END", end).Replace(thisYearBounds)
}

// monthlyVerify is a year to date of MONTHLY rows, one per product and
// month from January through through (a month of the year of asOf), each
// costing cost: what THIS_YEAR answers with aggregationPeriod=MONTHLY.
func monthlyVerify(year int, through time.Month, cost float64, asOf string) *twilio.Usage {
	u := &twilio.Usage{AsOf: date(asOf), Pages: 1}
	for m := time.January; m <= through; m++ {
		first := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
		last := first.AddDate(0, 1, -1)
		if m == through {
			last = date(asOf)
		}
		for _, r := range []twilio.Record{
			rec("Verify-SMS", "verify", "verifications", 40, cost/2, "EUR"),
			rec("Verify-WhatsApp", "verify", "verifications", 10, cost/2, "EUR"),
		} {
			r.StartDate, r.EndDate, r.Index = first, last, len(u.Records)
			u.Records = append(u.Records, r)
		}
	}
	return u
}

// serveYearEnd makes the API answer every period at the end of 2026: 30
// this month, 1.5 yesterday, 41 last month, 360 this year (MONTHLY rows).
func (h *periodHarness) serveYearEnd() {
	h.fake.set(twilio.ThisMonth, verify(30, "2026-12-31"), nil)
	h.fake.set(twilio.Yesterday, verify(1.5, "2026-12-30"), nil)
	h.fake.set(twilio.LastMonth, verify(41, "2026-11-30"), nil)
	h.fake.set(twilio.ThisYear, monthlyVerify(2026, time.December, 30, "2026-12-31"), nil)
}

// TestThisYearExposition: a year of MONTHLY rows is summed into one figure
// per category and currency, with the year's bounds, up and asOf, fetched
// once within its lifetime however many scrapes ask, and the annual budget
// beside the monthly one.
func TestThisYearExposition(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
	h.serveDefaults()
	h.fake.set(twilio.ThisYear, monthlyVerify(2026, time.November, 30.5, "2026-11-26"), nil) // 11 months of 30.5
	g := Group{ID: idB, Label: "support", TTL: [NumPeriods]time.Duration{ThisYear: 6 * time.Hour},
		Budget: &Budget{Amount: 40, Currency: "EUR"}, AnnualBudget: &Budget{Amount: 400, Currency: "EUR"}}
	h.cache.SetGroups(monthly(15*time.Minute, g))
	h.scrape(t, thisYearCostHelp+`twilio_billing_group_this_year_cost{billing_group="support",currency="EUR",product_category="verify"} 335.5
# HELP twilio_billing_group_this_year_usage Usage amount of the billing group this year to date: the calendar year (UTC), or the fiscal year where fiscal_year_start sets one (twilio_billing_fiscal_year_start_month), in the unit label's unit; an estimate. Served from a cache refreshed every periods.this_year.cache_ttl.
# TYPE twilio_billing_group_this_year_usage gauge
twilio_billing_group_this_year_usage{billing_group="support",product_category="verify",unit="verifications"} 550
`+yearBounds("1.7672256e+09", "1.7987616e+09")+thisYearUpHelp+`twilio_billing_group_this_year_up{billing_group="support"} 1
# HELP twilio_billing_group_this_year_as_of_timestamp_seconds The Usage API's asOf date for the served this_year data (00:00 UTC of that day), as a Unix timestamp; until it passes the period's end, the figure is still growing.
# TYPE twilio_billing_group_this_year_as_of_timestamp_seconds gauge
twilio_billing_group_this_year_as_of_timestamp_seconds{billing_group="support"} 1.7956512e+09
# HELP twilio_billing_group_budget Monthly budget configured for the billing group.
# TYPE twilio_billing_group_budget gauge
twilio_billing_group_budget{billing_group="support",currency="EUR"} 40
# HELP twilio_billing_group_annual_budget Annual budget configured for the billing group, for the year of the this_year cost: the calendar year (UTC), or the fiscal year where fiscal_year_start sets one.
# TYPE twilio_billing_group_annual_budget gauge
twilio_billing_group_annual_budget{billing_group="support",currency="EUR"} 400
`, append(thisYearNames, "twilio_billing_group_budget", "twilio_billing_group_annual_budget")...)

	for range 5 {
		h.scrape(t, "", "no_such_metric")
	}
	h.clock.Add(5 * time.Hour) // month to date expired many times, the year (6h) not
	h.scrape(t, "", "no_such_metric")
	if got := h.fake.count(twilio.ThisYear); got != 1 {
		t.Errorf("this_year fetches within its lifetime = %d, want 1", got)
	}
	h.clock.Add(time.Hour)
	h.scrape(t, "", "no_such_metric")
	if got := h.fake.count(twilio.ThisYear); got != 2 {
		t.Errorf("this_year fetches after its lifetime = %d, want 2", got)
	}
}

// A group without this_year has none of its series, nor an annual budget
// series without an annual budget.
func TestThisYearOffExportsNothing(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
	h.serveDefaults()
	h.cache.SetGroups(monthly(15*time.Minute, Group{ID: idB, Label: "support", Budget: &Budget{Amount: 40, Currency: "EUR"}}))
	h.scrape(t, "", append(thisYearNames, "twilio_billing_group_annual_budget")...)
	if got := h.fake.count(twilio.ThisYear); got != 0 {
		t.Errorf("this_year fetched %d times while off", got)
	}
}

// At 00:00 UTC on 1 January last year's snapshot is never served as this
// year's, even within its lifetime and while the API fails or still answers
// for last year; the new year's figure is served once the API has it.
func TestThisYearRollsOverOn1January(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC))
	h.serveYearEnd()
	h.scrape(t, thisYearCostHelp+`twilio_billing_group_this_year_cost{billing_group="support",currency="EUR",product_category="verify"} 360
`+yearBounds("1.7672256e+09", "1.7987616e+09"), "twilio_billing_group_this_year_cost",
		"twilio_billing_group_this_year_period_start_timestamp_seconds", "twilio_billing_group_this_year_period_end_timestamp_seconds")

	// 00:05 on 1 January, within the 6h lifetime: the API still answers for
	// 2026 (its clock or asOf lags). Those rows lie outside 2027: refused.
	h.clock.Set(time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC))
	h.scrape(t, thisYearUpHelp+`twilio_billing_group_this_year_up{billing_group="support"} 0
`, thisYearNames...)

	// The API fails: still nothing of 2026 served.
	h.clock.Add(2 * time.Minute)
	h.fake.set(twilio.ThisYear, nil, errors.New("twilio: HTTP 503"))
	h.scrape(t, thisYearUpHelp+`twilio_billing_group_this_year_up{billing_group="support"} 0
`, thisYearNames...)

	h.clock.Add(2 * time.Minute)
	h.fake.set(twilio.ThisYear, monthlyVerify(2027, time.January, 0.5, "2027-01-01"), nil)
	h.scrape(t, thisYearCostHelp+`twilio_billing_group_this_year_cost{billing_group="support",currency="EUR",product_category="verify"} 0.5
`+yearBounds("1.7987616e+09", "1.8302976e+09")+thisYearUpHelp+`twilio_billing_group_this_year_up{billing_group="support"} 1
`, "twilio_billing_group_this_year_cost", "twilio_billing_group_this_year_up",
		"twilio_billing_group_this_year_period_start_timestamp_seconds", "twilio_billing_group_this_year_period_end_timestamp_seconds")
	if got := h.fake.count(twilio.ThisYear); got != 4 {
		t.Errorf("this_year fetches = %d, want 4 (2026, refused, failed, 2027)", got)
	}
}

// A failed refresh within the year keeps serving the last good year to date,
// with up 0.
func TestThisYearStaleOnErrorWithinTheYear(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC))
	h.serveDefaults()
	h.scrape(t, "", "no_such_metric")
	h.fake.set(twilio.ThisYear, nil, errors.New("twilio: HTTP 503"))
	h.clock.Add(7 * time.Hour)
	h.scrape(t, thisYearCostHelp+`twilio_billing_group_this_year_cost{billing_group="support",currency="EUR",product_category="verify"} 300
`+thisYearUpHelp+`twilio_billing_group_this_year_up{billing_group="support"} 0
`, "twilio_billing_group_this_year_cost", "twilio_billing_group_this_year_up")
}

// TestSumYearOfMonthlyRows: THIS_YEAR with aggregationPeriod=MONTHLY answers
// one row per product and month; they lie inside the year and do not overlap,
// so they add up exactly. A roll-up of the whole year beside them is the same
// usage twice and is refused, as is a row of last December.
func TestSumYearOfMonthlyRows(t *testing.T) {
	start, end := ThisYear.Bounds(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), time.January)
	u := monthlyVerify(2026, time.November, 30.5, "2026-11-26")
	totals, err := Sum(u.Records, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if got := totals.Costs[0].Amount.String(); len(totals.Costs) != 1 || got != "335.50" {
		t.Errorf("year of monthly rows: costs %v, want verify EUR 335.50", totals.Costs)
	}
	rollup := at(rec("Verify-SMS", "verify", "verifications", 440, 167.75, "EUR"), 2, 0, "2026-01-01", "2026-11-26")
	_, err = Sum(append(u.Records, rollup), start, end)
	want := `record 0 ("verify" "Verify-SMS", verifications EUR, 2026-01-01 to 2026-01-31) overlaps page 2 record 0 ("verify" "Verify-SMS", verifications EUR, 2026-01-01 to 2026-11-26) (and 10 more overlapping records): the same usage would be counted twice`
	if got := errText(err); got != want {
		t.Errorf("year roll-up beside monthly rows:\n got: %s\nwant: %s", got, want)
	}
	december := at(rec("Verify-SMS", "verify", "verifications", 40, 15, "EUR"), 1, 0, "2025-12-01", "2025-12-31")
	want = `page 1 record 0 ("verify" "Verify-SMS", verifications EUR, 2025-12-01 to 2025-12-31) lies outside the period (2026-01-01 to 2026-12-31): the API answered for another period`
	if _, err := Sum(append([]twilio.Record{december}, u.Records[2:]...), start, end); errText(err) != want {
		t.Errorf("last year's row:\n got: %s\nwant: %s", errText(err), want)
	}
}

// TestCollectorCoversEveryPeriod: a cache state's collector serves every
// period's families and both budgets, also while a rolled-over year is
// withheld (the exposition package holds its encoding to the collector's).
func TestCollectorCoversEveryPeriod(t *testing.T) {
	h := newPeriodHarness(t, time.Date(2026, 12, 31, 23, 50, 0, 0, time.UTC))
	h.serveYearEnd()
	g := Group{ID: idB, Label: "support", Budget: &Budget{Amount: 40, Currency: "EUR"}, AnnualBudget: &Budget{Amount: 400, Currency: "EUR"}}
	for p := ThisMonth + 1; p < NumPeriods; p++ {
		g.TTL[p] = 6 * time.Hour
	}
	h.cache.SetGroups(monthly(15*time.Minute, g))
	check := func(step string, wantIn, wantOut []string) {
		t.Helper()
		for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeOpenMetrics)} {
			got := testsupport.Exposition(t, format, registryFor(New(h.cache.Get(context.Background()))))
			for _, s := range wantIn {
				if !bytes.Contains(got, []byte(s)) {
					t.Fatalf("%s, %s: lacks %q:\n%s", step, format, s, got)
				}
			}
			for _, s := range wantOut {
				if bytes.Contains(got, []byte(s)) {
					t.Fatalf("%s, %s: has %q:\n%s", step, format, s, got)
				}
			}
		}
	}
	every := []string{`twilio_billing_group_budget{billing_group="support",currency="EUR"} 40`,
		`twilio_billing_group_annual_budget{billing_group="support",currency="EUR"} 400`}
	for _, p := range []string{"", "yesterday_", "last_month_", "this_year_"} {
		every = append(every, "twilio_billing_group_"+p+`cost{billing_group="support"`, "twilio_billing_group_"+p+`up{billing_group="support"} 1`)
	}
	check("every period served", every, nil)

	// 00:00:20 UTC on 1 January, the API failing: every period of 2026 is
	// withheld (yesterday's too: it was the 30th), the budgets stay.
	for p := range NumPeriods {
		h.fake.set(p.timePeriod(), nil, errors.New("twilio: HTTP 503"))
	}
	h.clock.Set(time.Date(2027, 1, 1, 0, 0, 20, 0, time.UTC))
	check("year rolled over", every[:2], []string{"twilio_billing_group_this_year_cost{", "twilio_billing_group_cost{"})
}

// TestThisYearAgainstSimulatorShapes: whether the API answers THIS_YEAR with
// a row per product and calendar month, one roll-up of the year, or DAILY
// rows, the year to date served is exactly the sum of its days; the year's
// roll-up beside the monthly rows is refused, not summed twice.
func TestThisYearAgainstSimulatorShapes(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		shape   usagesim.Shapes
		refused bool
	}{
		{"a row per month", usagesim.Shapes{}, false},
		{"one roll-up of the year", usagesim.Shapes{RangeRollups: true}, false},
		{"DAILY rows whatever is asked", usagesim.Shapes{DefaultAggregation: "DAILY", IgnoreAggregation: true}, false},
		{"roll-ups beside the monthly rows", usagesim.Shapes{OverlappingRollups: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := testsupport.NewClock(now)
			logs := &testsupport.SyncBuffer{}
			sim := usagesim.New(usagesim.Options{Now: clk.Now, TokenTTL: 10000 * time.Hour, Shapes: tc.shape})
			sg := usagesim.DemoGroups()[1]
			g := Group{ID: sg.ID, Label: sg.Name, TTL: [NumPeriods]time.Duration{ThisYear: 6 * time.Hour}}
			cache := NewCache(simtest.Client(t, simtest.Start(t, sim), 1000, nil), monthly(faultTTL, g), CacheOptions{Now: clk.Now, Logger: newLogfmt(logs), Concurrency: 4})
			defer cache.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			got := gatherValues(t, New(cache.Get(ctx)))
			up := got[`twilio_billing_group_this_year_up{billing_group="support"}`]
			if tc.refused {
				if up != 0 {
					t.Errorf("this_year up = %v, want 0", up)
				}
				for k := range got {
					if strings.HasPrefix(k, "twilio_billing_group_this_year_cost") {
						t.Errorf("served %s from an answer that counts usage twice", k)
					}
				}
				if c := strings.Count(logs.String(), `msg="Refresh failed; serving the last good data of this period, if any"`); c != 1 ||
					!strings.Contains(logs.String(), "period=this_year") || !strings.Contains(logs.String(), "the same usage would be counted twice") {
					t.Errorf("want one line naming the overlap, got %d:\n%s", c, logs)
				}
				return
			}
			if up != 1 {
				t.Fatalf("this_year up = %v, want 1:\n%s", up, logs)
			}
			days := sim.DailyRecords(sg.ID, "2026-01-01", "2026-11-26")
			checkYearIsTheDays(t, got, days)
			products := map[string]bool{}
			for _, r := range days {
				products[r.ProductName+"\x00"+r.Usage.Unit] = true
			}
			recs, _ := sim.Records(sg.ID, "THIS_YEAR")
			if len(recs) != 11*len(products) {
				t.Errorf("the simulator answers THIS_YEAR with %d rows, want 11 months x %d products", len(recs), len(products))
			}
		})
	}
}

// checkYearIsTheDays checks that support's this_year cost series in got are
// exactly the days' costs added up, one series per category and currency.
func checkYearIsTheDays(t *testing.T, got map[string]float64, days []usagesim.WireRecord) {
	t.Helper()
	sums := testsupport.ExactSums{}
	for _, r := range days {
		sums.AddFloat(t, fmt.Sprintf(`twilio_billing_group_this_year_cost{billing_group="support",currency=%q,product_category=%q}`, r.Price.Currency, r.ProductCategory), r.Price.Amount)
	}
	want := sums.Floats()
	n := 0
	for k, v := range got {
		if strings.HasPrefix(k, "twilio_billing_group_this_year_cost") {
			n++
			if want[k] != v {
				t.Errorf("%s = %v, the days add up to %v", k, v, want[k])
			}
		}
	}
	if n != len(want) || n == 0 {
		t.Errorf("%d this_year cost series, want %d", n, len(want))
	}
}

// TestFiscalYearAgainstSimulator: a fiscal year to date is asked as a range
// from its 1st day to today and served exactly, whatever rows the API answers
// a range with; on the 366th day of a fiscal year holding 29 February it is
// asked in two parts, split at a month's end, and still exact.
func TestFiscalYearAgainstSimulator(t *testing.T) {
	shapes := []struct {
		name  string
		shape usagesim.Shapes
	}{
		{"a row per month", usagesim.Shapes{}},
		{"one roll-up per range", usagesim.Shapes{RangeRollups: true}},
		{"DAILY rows whatever is asked", usagesim.Shapes{DefaultAggregation: "DAILY", IgnoreAggregation: true}},
	}
	for _, tc := range []struct {
		name       string
		yearStart  time.Month
		now        time.Time
		first      string // the fiscal year's first day
		start, end float64
		requests   int
	}{
		{"April, in December", time.April, time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC), "2026-04-01", 1775001600, 1806537600, 1},
		{"April, on its last day", time.April, time.Date(2027, 3, 31, 10, 0, 0, 0, time.UTC), "2026-04-01", 1775001600, 1806537600, 1},
		{"March, on its 366th day", time.March, time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC), "2023-03-01", 1677628800, 1709251200, 2},
	} {
		for _, sh := range shapes {
			t.Run(tc.name+", "+sh.name, func(t *testing.T) {
				clk := testsupport.NewClock(tc.now)
				logs := &testsupport.SyncBuffer{}
				sim := usagesim.New(usagesim.Options{Now: clk.Now, TokenTTL: 10000 * time.Hour, Shapes: sh.shape})
				sg := usagesim.DemoGroups()[1]
				g := Group{ID: sg.ID, Label: sg.Name, YearStart: tc.yearStart, TTL: [NumPeriods]time.Duration{ThisYear: 6 * time.Hour}}
				client := simtest.Client(t, simtest.Start(t, sim), 1000, nil)
				cache := NewCache(client, monthly(12*time.Hour, g), CacheOptions{Now: clk.Now, Logger: newLogfmt(logs), Concurrency: 4})
				defer cache.Close()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				// The first refresh learns the token and the request
				// encoding; the second, past the year's lifetime and not
				// the month's, sends the year's requests alone.
				cache.Get(ctx)
				sim.ResetStats()
				clk.Add(7 * time.Hour)
				got := gatherValues(t, New(cache.Get(ctx)))
				if up := got[`twilio_billing_group_this_year_up{billing_group="support"}`]; up != 1 {
					t.Fatalf("this_year up = %v, want 1:\n%s", up, logs)
				}
				if s, e := got[`twilio_billing_group_this_year_period_start_timestamp_seconds{billing_group="support"}`], got[`twilio_billing_group_this_year_period_end_timestamp_seconds{billing_group="support"}`]; s != tc.start || e != tc.end {
					t.Errorf("this_year bounds %v..%v, want %v..%v", s, e, tc.start, tc.end)
				}
				checkYearIsTheDays(t, got, sim.DailyRecords(sg.ID, tc.first, clk.Now().UTC().Format(twilio.DateLayout)))
				// A year of MONTHLY rows or roll-ups is one page a request
				// (DAILY rows are many).
				if st := sim.Stats(); sh.shape.DefaultAggregation == "" && st.RecordsRequests != tc.requests {
					t.Errorf("the year was asked in %d requests, want %d", st.RecordsRequests, tc.requests)
				}
			})
		}
	}
}

// TestFiscalYearRollsOver: a fiscal year's snapshot is withheld from 00:00
// UTC on the 1st of its first month, never served as the new year's, while
// 1 January is an ordinary day for it.
func TestFiscalYearRollsOver(t *testing.T) {
	clk := testsupport.NewClock(time.Date(2026, 12, 31, 23, 50, 0, 0, time.UTC))
	logs := &testsupport.SyncBuffer{}
	sim := usagesim.New(usagesim.Options{Now: clk.Now, TokenTTL: 10000 * time.Hour})
	sg := usagesim.DemoGroups()[1]
	g := Group{ID: sg.ID, Label: sg.Name, YearStart: time.April, TTL: [NumPeriods]time.Duration{ThisYear: 6 * time.Hour}}
	cache := NewCache(simtest.Client(t, simtest.Start(t, sim), 1000, nil), monthly(15*time.Minute, g), CacheOptions{Now: clk.Now, Logger: newLogfmt(logs), Concurrency: 4, RetryInterval: time.Minute})
	defer cache.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const (
		cost      = `twilio_billing_group_this_year_cost{billing_group="support",currency="EUR",product_category="sms-outbound"}`
		monthCost = `twilio_billing_group_cost{billing_group="support",currency="EUR",product_category="sms-outbound"}`
		start     = `twilio_billing_group_this_year_period_start_timestamp_seconds{billing_group="support"}`
		up        = `twilio_billing_group_this_year_up{billing_group="support"}`
	)
	scrape := func(step string, served bool, wantStart, wantUp float64) map[string]float64 {
		t.Helper()
		got := gatherValues(t, New(cache.Get(ctx)))
		_, has := got[cost]
		if has != served || got[start] != wantStart || got[up] != wantUp {
			t.Errorf("%s: cost served %v, start %v, up %v; want served %v, start %v, up %v:\n%s",
				step, has, got[start], got[up], served, wantStart, wantUp, logs)
		}
		return got
	}
	const april2026, april2027 = 1775001600, 1806537600
	december := scrape("31 December", true, april2026, 1)[cost]

	// 1 January, the API refusing every request: the fiscal year goes on,
	// its last good figure with it.
	sim.InjectFault(usagesim.Fault{Kind: usagesim.ExportNotFound})
	clk.Set(time.Date(2027, 1, 1, 6, 0, 20, 0, time.UTC))
	if got := scrape("1 January, refused", true, april2026, 0)[cost]; got != december || got == 0 {
		t.Errorf("1 January: this_year cost %v, want the last good %v", got, december)
	}

	// 1 April 00:00:20, still refused: last fiscal year's figure is withheld.
	clk.Set(time.Date(2027, 4, 1, 0, 0, 20, 0, time.UTC))
	scrape("1 April, refused", false, 0, 0)
	// Answered: the new fiscal year to date is the month to date.
	sim.ClearFaults()
	clk.Add(2 * time.Minute)
	got := scrape("1 April, answered", true, april2027, 1)
	if got[cost] != got[monthCost] || got[cost] >= december {
		t.Errorf("1 April: this_year cost %v, want the month to date %v", got[cost], got[monthCost])
	}
}
