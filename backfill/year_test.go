package backfill

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// TestThisYearIsTheYearToDate backfills a group with this_year on beside one
// with it off and checks, at instants of several days, every series against
// the simulator's daily records added up exactly (this_year: 1 January, or
// the fiscal year's first day, through the day), and the records requests:
// the months of the year --from is in before the month before --from are
// fetched for the this_year group only, and none when the range starts in
// the year's first month.
func TestThisYearIsTheYearToDate(t *testing.T) {
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name      string
		yearStart time.Month // 0: the calendar year
		from, to  time.Time
		at        []time.Time
		// extra are the months fetched for the this_year group only: the
		// year's months before the month before --from.
		extra int
	}{
		{"from mid-year", 0, date(2026, 4, 10), date(2026, 5, 3), []time.Time{
			date(2026, 4, 10), // the first instant
			date(2026, 4, 30).Add(23*time.Hour + 35*time.Minute), // the last hour of a month
			date(2026, 5, 1).Add(42 * time.Minute),               // the first hour of the next
			date(2026, 5, 4).Add(-time.Second),                   // the last second
		}, 2},
		{"across 1 January", 0, date(2025, 12, 20), date(2026, 1, 10), []time.Time{
			date(2025, 12, 20).Add(13 * time.Hour),
			date(2026, 1, 1).Add(-25 * time.Minute), // the whole of 2025
			date(2026, 1, 1).Add(42 * time.Minute),  // 1 January alone
			date(2026, 1, 11).Add(-time.Second),
		}, 10},
		{"from in January", 0, date(2026, 1, 5), date(2026, 2, 2), []time.Time{
			date(2026, 1, 5).Add(time.Hour),
			date(2026, 2, 1).Add(42 * time.Minute),
		}, 0},
		// A fiscal year from 1 April: it resets on 1 April, not 1 January.
		{"fiscal, across 1 April", time.April, date(2026, 3, 20), date(2026, 4, 10), []time.Time{
			date(2026, 3, 20).Add(13 * time.Hour),
			date(2026, 4, 1).Add(-25 * time.Minute), // April 2025 to March 2026
			date(2026, 4, 1).Add(42 * time.Minute),  // 1 April alone
			date(2026, 4, 11).Add(-time.Second),
		}, 10},
		{"fiscal, across 1 January", time.April, date(2025, 12, 20), date(2026, 1, 10), []time.Time{
			date(2026, 1, 1).Add(-25 * time.Minute),
			date(2026, 1, 1).Add(42 * time.Minute), // 1 April 2025 to 1 January
			date(2026, 1, 11).Add(-time.Second),
		}, 7},
		{"fiscal, from in April", time.April, date(2026, 4, 5), date(2026, 5, 2), []time.Time{
			date(2026, 4, 5).Add(time.Hour),
			date(2026, 5, 1).Add(42 * time.Minute),
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sg, cg := testGroups()
			cg[0].TTL[collector.ThisYear] = time.Hour // a: this_year on; b: off
			cg[0].YearStart, cg[1].YearStart = tc.yearStart, tc.yearStart
			sim := usagesim.New(usagesim.Options{Groups: sg, Now: func() time.Time { return testNow }})
			const pageSize = 50
			o := testOptions(t, simtest.Client(t, simtest.Start(t, sim), pageSize, retries), cg, t.TempDir())
			o.From, o.To = tc.from, tc.to
			sim.ResetStats()
			res, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}

			// Requests: one sequence of pages per group and month fetched.
			pages := func(g usagesim.Group, first time.Time, months int) int {
				n := 0
				for ms := range months {
					s := first.AddDate(0, ms, 0)
					e := s.AddDate(0, 1, -1)
					if e.After(o.To) {
						e = o.To
					}
					recs := len(sim.DailyRecords(g.ID, s.Format(twilio.DateLayout), e.Format(twilio.DateLayout)))
					n += max(1, (recs+pageSize-1)/pageSize)
				}
				return n
			}
			monthBefore := date(o.From.Year(), o.From.Month(), 1).AddDate(0, -1, 0)
			months := (o.To.Year()-monthBefore.Year())*12 + int(o.To.Month()-monthBefore.Month()) + 1
			wantA := pages(sg[0], monthBefore.AddDate(0, -tc.extra, 0), tc.extra+months)
			wantB := pages(sg[1], monthBefore, months)
			st := sim.Stats()
			if got := st.ByGroup[sg[0].ID]; got != wantA {
				t.Errorf("group a (this_year on): %d records requests, want %d (%d months, %d of them for this_year only)", got, wantA, tc.extra+months, tc.extra)
			}
			if got := st.ByGroup[sg[1].ID]; got != wantB {
				t.Errorf("group b (this_year off): %d records requests, want %d (%d months)", got, wantB, months)
			}
			if res.Pages != wantA+wantB || st.RecordsRequests != wantA+wantB {
				t.Errorf("pages reported %d, records requests %d; want %d", res.Pages, st.RecordsRequests, wantA+wantB)
			}

			db, err := tsdb.OpenDBReadOnly(o.OutputDir, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, at := range tc.at {
				want := checkAt(t, db, sim, sg, cg, at)
				year := map[string]int{}
				for k := range want {
					for _, g := range []string{"a", "b"} {
						if strings.HasPrefix(k, `twilio_billing_group_this_year_cost{billing_group="`+g+`"`) {
							year[g]++
						}
					}
				}
				if year["a"] != sg[0].Categories || year["b"] != 0 {
					t.Errorf("at %s: this_year_cost series of a: %d, of b: %d; want one per category of a (%d), none of b", at, year["a"], year["b"], sg[0].Categories)
				}
			}
		})
	}
}
