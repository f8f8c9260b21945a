package backfill

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// TestBlocksHoldWhatTheExporterWouldHaveServed reads the blocks back with
// Prometheus' tsdb package and checks the value every series has at past
// instants, as a query with the default 5-minute lookback finds it, against
// the simulator's daily records added up exactly: month to date
// through that day, yesterday, last month, the period bounds and the monthly
// and annual budgets, and no other series.
func TestBlocksHoldWhatTheExporterWouldHaveServed(t *testing.T) {
	sg, cg := testGroups()
	cg[0].Budget = &collector.Budget{Amount: 1234, Currency: "USD"}
	cg[1].AnnualBudget = &collector.Budget{Amount: 45678, Currency: "EUR"}
	cg[0].Thresholds = &collector.Thresholds{Nearly: 0.8, Warning: 1, Critical: 1.2}
	cg[0].Labels = map[string]string{"team": "payments", "owner": "alice"}
	cg[1].PlannedCategories = []string{"verify-sms"}
	sim := usagesim.New(usagesim.Options{Groups: sg, Now: func() time.Time { return testNow }})
	o := testOptions(t, simtest.Client(t, simtest.Start(t, sim), 7, retries), cg, t.TempDir())
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	db, err := tsdb.OpenDBReadOnly(o.OutputDir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, at := range []time.Time{
		time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC),                  // the first instant
		time.Date(2026, 3, 16, 12, 7, 13, 0, time.UTC),                // mid-month
		time.Date(2026, 3, 31, 23, 35, 0, 0, time.UTC),                // the last hour of a month
		time.Date(2026, 4, 1, 0, 42, 0, 0, time.UTC),                  // the first hour of the next
		time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC).Add(-time.Second), // the last second
	} {
		if want := checkAt(t, db, sim, sg, cg, at); len(want) < 30 {
			t.Fatalf("at %s: only %d series to compare", at, len(want))
		}
	}
	// Before the range and after it, nothing.
	for _, at := range []time.Time{time.Date(2026, 2, 9, 23, 0, 0, 0, time.UTC), time.Date(2026, 5, 4, 0, 5, 0, 0, time.UTC)} {
		if got := valuesAt(t, db, at); len(got) != 0 {
			t.Errorf("at %s, outside the range: %d series", at, len(got))
		}
	}
}

// checkAt compares every series the blocks hold at `at` (product_info
// aside) with truthAt, and returns the truth compared.
func checkAt(t *testing.T, db *tsdb.DBReadOnly, sim *usagesim.Server, sg []usagesim.Group, cg []collector.Group, at time.Time) map[string]float64 {
	t.Helper()
	want := truthAt(t, sim, sg, cg, at)
	got := valuesAt(t, db, at)
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("at %s: no %s", at, k)
		} else if g != w {
			t.Errorf("at %s: %s = %v, the simulator's daily records add up to %v", at, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("at %s: %s, which the exporter would not have served", at, k)
		}
	}
	return want
}

// truthAt is what the exporter would have served at the end of at's day,
// from the simulator's daily records, product_info aside: this_year is
// every day from the 1st of the year's first month (January, or the group's
// fiscal YearStart) through that day, added up exactly.
func truthAt(t *testing.T, sim *usagesim.Server, sg []usagesim.Group, cg []collector.Group, at time.Time) map[string]float64 {
	t.Helper()
	d := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC)
	prev := month.AddDate(0, -1, 0)
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	want := map[string]float64{}
	sums := testsupport.ExactSums{}
	const extra = `, instance="exporter:10117", job="twilio_billing"`
	for i, g := range cg {
		add := func(prefix, from, to string, start, end time.Time) {
			for _, r := range sim.DailyRecords(sg[i].ID, from, to) {
				sums.Add(t, fmt.Sprintf(`%scost{billing_group=%q, currency=%q%s, product_category=%q}`, prefix, g.Label, r.Price.Currency, extra, r.ProductCategory), strconv.FormatFloat(r.Price.Amount, 'f', -1, 64))
				sums.Add(t, fmt.Sprintf(`%susage{billing_group=%q%s, product_category=%q, unit=%q}`, prefix, g.Label, extra, r.ProductCategory, r.Usage.Unit), r.Usage.Amount)
			}
			want[fmt.Sprintf(`%speriod_start_timestamp_seconds{billing_group=%q%s}`, prefix, g.Label, extra)] = float64(start.Unix())
			want[fmt.Sprintf(`%speriod_end_timestamp_seconds{billing_group=%q%s}`, prefix, g.Label, extra)] = float64(end.Unix())
		}
		const p = "twilio_billing_group_"
		add(p, day(month), day(d), month, month.AddDate(0, 1, 0))
		if g.TTL[collector.Yesterday] > 0 {
			y := d.AddDate(0, 0, -1)
			add(p+"yesterday_", day(y), day(y), y, d)
		}
		if g.TTL[collector.LastMonth] > 0 {
			add(p+"last_month_", day(prev), day(month.AddDate(0, 0, -1)), prev, month)
		}
		if g.TTL[collector.ThisYear] > 0 {
			first, y := max(g.YearStart, time.January), at.Year()
			if at.Month() < first {
				y-- // a fiscal year that began last calendar year
			}
			year := time.Date(y, first, 1, 0, 0, 0, 0, time.UTC)
			add(p+"this_year_", day(year), day(d), year, year.AddDate(1, 0, 0))
		}
		if b := g.Budget; b != nil {
			want[fmt.Sprintf(`%sbudget{billing_group=%q, currency=%q%s}`, p, g.Label, b.Currency, extra)] = b.Amount
		}
		if b := g.AnnualBudget; b != nil {
			want[fmt.Sprintf(`%sannual_budget{billing_group=%q, currency=%q%s}`, p, g.Label, b.Currency, extra)] = b.Amount
		}
		if th := g.Thresholds; th != nil && g.Budget != nil {
			for level, v := range map[string]float64{"nearly": th.Nearly, "warning": th.Warning, "critical": th.Critical} {
				want[fmt.Sprintf(`%sbudget_alert_threshold_ratio{billing_group=%q%s, level=%q}`, p, g.Label, extra, level)] = v
			}
		}
		for _, c := range g.PlannedCategories {
			want[fmt.Sprintf(`%splanned_category_info{billing_group=%q%s, product_category=%q}`, p, g.Label, extra, c)] = 1
		}
		// Every group has an info series, with its owner labels.
		info := labels.NewBuilder(labels.FromMap(g.Labels)).Set("billing_group", g.Label).
			Set("instance", "exporter:10117").Set("job", "twilio_billing").Labels()
		want[p+"info"+info.String()] = 1
		// The month the year starts in, 1 for the calendar year.
		want[`twilio_billing_fiscal_year_start_month{instance="exporter:10117", job="twilio_billing"}`] = float64(max(g.YearStart, time.January))
	}
	maps.Copy(want, sums.Floats())
	return want
}

// valuesAt returns the latest sample at or before at, no older than 5
// minutes (Prometheus 3's lookback excludes exactly 5 minutes), of every
// series but product_info.
func valuesAt(t *testing.T, db *tsdb.DBReadOnly, at time.Time) map[string]float64 {
	t.Helper()
	blocks, err := db.Blocks()
	if err != nil {
		t.Fatal(err)
	}
	ts := at.UnixMilli()
	out := map[string]float64{}
	newest := map[string]int64{}
	for _, b := range blocks {
		q, err := tsdb.NewBlockQuerier(b, math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchNotEqual, model.MetricNameLabel, "twilio_billing_group_product_info"))
		for set.Next() {
			s := set.At()
			l := s.Labels()
			key := l.Get(model.MetricNameLabel) + l.DropReserved(func(n string) bool { return n == model.MetricNameLabel }).String()
			it := s.Iterator(nil)
			for it.Next() == chunkenc.ValFloat {
				st, sv := it.At()
				if st > ts {
					break
				}
				if st > ts-5*60*1000 {
					if n, ok := newest[key]; !ok || st > n {
						out[key], newest[key] = sv, st
					}
				}
			}
		}
		if err := set.Err(); err != nil {
			t.Fatal(err)
		}
		q.Close()
	}
	return out
}
