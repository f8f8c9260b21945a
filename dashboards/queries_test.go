package dashboards

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/teststorage"
)

// The queries of the year row and the anomalies table run here against
// synthetic exporter history in Prometheus' own TSDB and query engine, with
// Prometheus' default parser (no experimental functions) and lookback.

// category is a product category of a simulated billing group: it spends
// rate a day on each UTC day in [from, until).
type category struct {
	name        string
	rate        float64
	from, until time.Time
}

// simGroup is a simulated billing group and what its exporter serves.
type simGroup struct {
	name, currency string
	cats           []category
	lastMonth      bool      // the group fetches last month
	since          time.Time // Prometheus' history of the group begins
	annualBudget   float64   // 0: none
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// spend is what c spent on the UTC days in [a, b).
func (c category) spend(a, b time.Time) float64 {
	var s float64
	for d := a; d.Before(b); d = d.AddDate(0, 0, 1) {
		if !d.Before(c.from) && d.Before(c.until) {
			s += c.rate
		}
	}
	return s
}

// lateUsage is what Twilio adds to a month's "sms" total after the 3rd of
// the following month: last month's figure keeps moving.
const lateUsage = 1

// simulate writes what Prometheus would hold from scraping each group's
// exporter every 6 hours, at 05:57:30, 11:57:30, 17:57:30 and 23:57:30, up
// to end: month-to-date figures count the whole current day, as the
// backfill command writes them. (A real scrape is more frequent; these are
// enough for a query at noon and for the 00:00 samples of the monthly bars.)
func simulate(t *testing.T, groups []simGroup, from, end time.Time) *teststorage.TestStorage {
	t.Helper()
	st := teststorage.New(t)
	ctx := context.Background()
	for ts := from.Add(5*time.Hour + 57*time.Minute + 30*time.Second); ts.Before(end); ts = ts.Add(6 * time.Hour) {
		app := st.Appender(ctx)
		add := func(name string, v float64, kv ...string) {
			lbls := labels.FromStrings(append([]string{"__name__", name, "job", "twilio_billing", "instance", "exporter:10117"}, kv...)...)
			if _, err := app.Append(0, lbls, ts.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
		today := ts.Truncate(24 * time.Hour)
		month := day(today.Year(), today.Month(), 1)
		year := day(today.Year(), time.January, 1)
		for _, g := range groups {
			if ts.Before(g.since) {
				continue
			}
			bg := []string{"billing_group", g.name}
			add("twilio_billing_group_period_start_timestamp_seconds", float64(month.Unix()), bg...)
			add("twilio_billing_group_period_end_timestamp_seconds", float64(month.AddDate(0, 1, 0).Unix()), bg...)
			add("twilio_billing_group_yesterday_period_start_timestamp_seconds", float64(today.AddDate(0, 0, -1).Unix()), bg...)
			add("twilio_billing_group_this_year_period_start_timestamp_seconds", float64(year.Unix()), bg...)
			add("twilio_billing_group_this_year_period_end_timestamp_seconds", float64(year.AddDate(1, 0, 0).Unix()), bg...)
			if g.lastMonth {
				add("twilio_billing_group_last_month_period_start_timestamp_seconds", float64(month.AddDate(0, -1, 0).Unix()), bg...)
				add("twilio_billing_group_last_month_period_end_timestamp_seconds", float64(month.Unix()), bg...)
			}
			if g.annualBudget > 0 {
				add("twilio_billing_group_annual_budget", g.annualBudget, "billing_group", g.name, "currency", g.currency)
			}
			for _, c := range g.cats {
				series := func(name string, v float64) {
					if v > 0 {
						add(name, v, "billing_group", g.name, "product_category", c.name, "currency", g.currency)
					}
				}
				series("twilio_billing_group_cost", c.spend(month, today.AddDate(0, 0, 1)))
				series("twilio_billing_group_yesterday_cost", c.spend(today.AddDate(0, 0, -1), today))
				series("twilio_billing_group_this_year_cost", c.spend(year, today.AddDate(0, 0, 1)))
				if g.lastMonth {
					lm := c.spend(month.AddDate(0, -1, 0), month)
					if c.name == "sms" && lm > 0 && today.Day() > 3 {
						lm += lateUsage
					}
					series("twilio_billing_group_last_month_cost", lm)
				}
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// evalAt runs a panel query at ts as Grafana sends it with every variable on
// "All" and the panel's time range starting at rangeStart.
func evalAt(t *testing.T, st *teststorage.TestStorage, expr string, rangeStart, ts time.Time) promql.Vector {
	t.Helper()
	expr = strings.NewReplacer(
		"$job", ".*", "$billing_group", ".*", "$currency", ".*", "$product_category", ".*",
		"$__range", fmt.Sprintf("%ds", int64(ts.Sub(rangeStart).Seconds())),
	).Replace(expr)
	ng := promql.NewEngine(promql.EngineOpts{
		MaxSamples:       50_000_000,
		Timeout:          time.Minute,
		LookbackDelta:    5 * time.Minute,
		EnableAtModifier: true,
		Parser:           parser.NewParser(parser.Options{}),
	})
	t.Cleanup(func() { ng.Close() })
	q, err := ng.NewInstantQuery(context.Background(), st, nil, expr, ts)
	if err != nil {
		t.Fatalf("%v\n%s", err, expr)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, expr)
	}
	v, err := res.Vector()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// byLabels renders a result as "label=value,... -> value" lines, sorted, with
// the given labels only.
func byLabels(v promql.Vector, names ...string) string {
	var lines []string
	for _, s := range v {
		var parts []string
		for _, n := range names {
			parts = append(parts, n+"="+s.Metric.Get(n))
		}
		lines = append(lines, fmt.Sprintf("%s -> %s", strings.Join(parts, ","), formatValue(s.F)))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func formatValue(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return fmt.Sprintf("%.4f", f)
}

// The simulated organization, from 1 December 2025 to 15 April 2026 noon.
var (
	simFrom = day(2025, time.December, 1)
	simEnd  = day(2026, time.April, 15).Add(12 * time.Hour)
	forever = day(2100, time.January, 1)
	// full fetches last month, has an annual budget, a category new in
	// April and one that stopped at the end of March.
	full = simGroup{name: "full", currency: "USD", lastMonth: true, since: simFrom, annualBudget: 5000, cats: []category{
		{name: "sms", rate: 10, from: simFrom, until: forever},
		{name: "fax", rate: 5, from: simFrom, until: day(2026, time.April, 1)},
		{name: "voice", rate: 20, from: day(2026, time.April, 1), until: forever},
	}}
	// noLastMonth does not fetch last month.
	noLastMonth = simGroup{name: "nolastmonth", currency: "EUR", since: simFrom, cats: []category{
		{name: "sms", rate: 1, from: simFrom, until: forever},
	}}
	// late reached Prometheus on 5 March 2026.
	late = simGroup{name: "late", currency: "GBP", lastMonth: true, since: day(2026, time.March, 5), cats: []category{
		{name: "sms", rate: 2, from: simFrom, until: forever},
	}}
)

func TestMonthlySpendThisYear(t *testing.T) {
	st := simulate(t, []simGroup{full, noLastMonth, late}, simFrom, simEnd)
	yearStart := day(2026, time.January, 1)

	got := byLabels(evalAt(t, st, monthlySpend(), yearStart, simEnd), "billing_group", "currency", "month", "series")
	want := strings.Join([]string{
		// Last month's figure as last seen in the following month, late usage included.
		"billing_group=full,currency=USD,month=2026-01,series=full USD -> 466.0000", // 31*10+1 + 31*5
		"billing_group=full,currency=USD,month=2026-02,series=full USD -> 421.0000", // 28*10+1 + 28*5
		"billing_group=full,currency=USD,month=2026-03,series=full USD -> 466.0000",
		// Month to date now: sms and the new voice; fax stopped.
		"billing_group=full,currency=USD,month=2026-04,series=full USD -> 450.0000", // 15*10 + 15*20
		// History from 5 March: no January (no data, not zero); February from
		// last month's figure seen in March.
		"billing_group=late,currency=GBP,month=2026-02,series=late GBP -> 57.0000",
		"billing_group=late,currency=GBP,month=2026-03,series=late GBP -> 63.0000",
		"billing_group=late,currency=GBP,month=2026-04,series=late GBP -> 30.0000",
		// Without last month's figures: the month-to-date cost last recorded in the month.
		"billing_group=nolastmonth,currency=EUR,month=2026-01,series=nolastmonth EUR -> 31.0000",
		"billing_group=nolastmonth,currency=EUR,month=2026-02,series=nolastmonth EUR -> 28.0000",
		"billing_group=nolastmonth,currency=EUR,month=2026-03,series=nolastmonth EUR -> 31.0000",
		"billing_group=nolastmonth,currency=EUR,month=2026-04,series=nolastmonth EUR -> 15.0000",
	}, "\n")
	if got != want {
		t.Errorf("monthly spend on 15 April:\n%s\nwant:\n%s", got, want)
	}

	// In January last month is December of last year: not this year's bar.
	jan := day(2026, time.January, 10).Add(12 * time.Hour)
	got = byLabels(evalAt(t, st, monthlySpend(), yearStart, jan), "billing_group", "month")
	want = strings.Join([]string{
		"billing_group=full,month=2026-01 -> 150.0000", // 10 days of 10 and 5
		"billing_group=nolastmonth,month=2026-01 -> 10.0000",
	}, "\n")
	if got != want {
		t.Errorf("monthly spend on 10 January:\n%s\nwant:\n%s", got, want)
	}
}

func TestYearForecastAgainstAnnualBudget(t *testing.T) {
	st := simulate(t, []simGroup{full, noLastMonth}, day(2026, time.April, 1), simEnd)
	// Year to date on 15 April noon: sms 105 days of 10, fax 90 of 5, voice
	// 15 of 20; 104.5 days of the year's 365 have passed.
	ytd := 105*10.0 + 90*5.0 + 15*20.0
	forecast := ytd / 104.5 * 365

	got := byLabels(evalAt(t, st, yearForecast("billing_group, currency", thisYearSelector), simFrom, simEnd), "billing_group", "currency")
	want := strings.Join([]string{
		"billing_group=full,currency=USD -> " + formatValue(forecast),
		"billing_group=nolastmonth,currency=EUR -> " + formatValue(105/104.5*365),
	}, "\n")
	if got != want {
		t.Errorf("year-end forecast:\n%s\nwant:\n%s", got, want)
	}
	// Only the group with an annual budget has a percentage.
	got = byLabels(evalAt(t, st, yearForecastVsBudgetPercent(), simFrom, simEnd), "billing_group", "currency")
	if want := "billing_group=full,currency=USD -> " + formatValue(100*forecast/5000); got != want {
		t.Errorf("forecast against annual budget:\n%s\nwant:\n%s", got, want)
	}
}

func TestCategorySpendAnomalies(t *testing.T) {
	st := simulate(t, []simGroup{full, noLastMonth, late}, day(2026, time.April, 10), simEnd)
	cols := map[string]string{
		"yesterday": anomalyColumn(yesterdayOfEveryCategory()),
		"average":   anomalyColumn(lastMonthDayOfEveryCategory()),
		"percent":   anomalyPercent(),
	}
	// Yesterday is 14 April; last month March, 31 days. The group that
	// does not fetch last month has no rows.
	smsDay := (31*10.0 + lateUsage) / 31
	want := map[string]string{
		"yesterday": strings.Join([]string{
			"billing_group=full,product_category=fax,currency=USD -> 0.0000",
			"billing_group=full,product_category=sms,currency=USD -> 10.0000",
			"billing_group=full,product_category=voice,currency=USD -> 20.0000",
			"billing_group=late,product_category=sms,currency=GBP -> 2.0000",
		}, "\n"),
		"average": strings.Join([]string{
			"billing_group=full,product_category=fax,currency=USD -> 5.0000",
			"billing_group=full,product_category=sms,currency=USD -> " + formatValue(smsDay),
			"billing_group=full,product_category=voice,currency=USD -> 0.0000",
			"billing_group=late,product_category=sms,currency=GBP -> " + formatValue((31*2.0+lateUsage)/31),
		}, "\n"),
		"percent": strings.Join([]string{
			"billing_group=full,product_category=fax,currency=USD -> 0.0000", // stopped
			"billing_group=full,product_category=sms,currency=USD -> " + formatValue(100*10/smsDay),
			"billing_group=full,product_category=voice,currency=USD -> +Inf", // new since last month
			"billing_group=late,product_category=sms,currency=GBP -> " + formatValue(100*2/((31*2.0+lateUsage)/31)),
		}, "\n"),
	}
	for name, expr := range cols {
		if got := byLabels(evalAt(t, st, expr, simFrom, simEnd), "billing_group", "product_category", "currency"); got != want[name] {
			t.Errorf("anomalies column %s:\n%s\nwant:\n%s", name, got, want[name])
		}
	}
}
