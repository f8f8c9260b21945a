package main

import (
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// TestDemoShowsWhatItSays: whatever day the demo starts, its year is a
// fiscal year from 1 April, platform has an annual budget its forecast for
// that year exceeds, support spends steadily
// on a category it never used before this month, and the monthly budgets
// put marketing over and support under.
func TestDemoShowsWhatItSays(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC),
		time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC), // the 1st: yesterday is last month
		time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 10, 0, 0, time.UTC), // 1 January: an ordinary day of the fiscal year
		time.Date(2027, 1, 3, 12, 0, 0, 0, time.UTC),
		time.Date(2027, 4, 1, 0, 10, 0, 0, time.UTC), // too early in the fiscal year to extrapolate
		time.Date(2027, 4, 3, 12, 0, 0, 0, time.UTC),
		time.Date(2028, 2, 29, 18, 0, 0, 0, time.UTC),
	} {
		t.Run(now.Format(time.RFC3339), func(t *testing.T) {
			d, err := startDemo(func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			cfg, err := d.load()
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]config.BillingGroup{}
			for _, g := range cfg.BillingGroups {
				byName[g.Name] = g
			}
			ids := map[string]string{}
			for _, g := range usagesim.DemoGroups() {
				ids[g.Name] = g.ID
			}
			cost := func(name, period, category string) (sum float64, seen bool) {
				recs, _ := d.sim.Records(ids[name], period)
				for _, r := range recs {
					if category == "" || r.ProductCategory == category {
						sum += r.Price.Amount
						seen = seen || r.ProductCategory == category
					}
				}
				return sum, seen
			}

			// Owner labels: two teams, and a group without any.
			if got := byName["marketing"].Labels; got["team"] != "growth" || got["owner"] != "ana" {
				t.Errorf("marketing labels %v, want team growth, owner ana", got)
			}
			if got := byName["support"].Labels; got["team"] != "customer-care" || got["cost_center"] != "4711" {
				t.Errorf("support labels %v, want team customer-care, cost_center 4711", got)
			}
			if got := byName["platform"].Labels; got != nil {
				t.Errorf("platform labels %v, want none", got)
			}

			// Support's own budget alert thresholds; the others' defaults.
			if got := byName["support"].AlertThresholds(); got != (config.BudgetAlertThresholds{Nearly: 0.6, Warning: 0.8, Critical: 1.2}) {
				t.Errorf("support thresholds %+v, want 0.6, 0.8, 1.2", got)
			}
			if got := byName["marketing"].AlertThresholds(); got != config.DefaultBudgetAlertThresholds {
				t.Errorf("marketing thresholds %+v, want the defaults", got)
			}

			// A fiscal year from 1 April.
			if got := cfg.YearStart(); got != time.April {
				t.Errorf("the demo's year starts in %s, want April", got)
			}
			// Platform: fiscal year to date extrapolated over the fiscal
			// year, as the annual forecast alert computes it, above the
			// annual budget.
			ab := byName["platform"].AnnualBudget
			if ab == nil || ab.Currency != "GBP" {
				t.Fatalf("platform annual budget %+v, want one in GBP", ab)
			}
			if byName["marketing"].AnnualBudget != nil || byName["support"].AnnualBudget != nil {
				t.Errorf("annual budgets on marketing or support: %+v", cfg.BillingGroups)
			}
			start := time.Date(now.Year(), time.April, 1, 0, 0, 0, 0, time.UTC)
			if now.Before(start) {
				start = start.AddDate(-1, 0, 0)
			}
			var ytd float64
			for _, r := range d.sim.DailyRecords(ids["platform"], start.Format(time.DateOnly), now.Format(time.DateOnly)) {
				ytd += r.Price.Amount
			}
			forecast := ytd / now.Sub(start).Seconds() * start.AddDate(1, 0, 0).Sub(start).Seconds()
			if now.Sub(start) >= 24*time.Hour && !(forecast > ab.Amount*1.2) {
				t.Errorf("platform: forecast %.0f GBP for the year, annual budget %v: want the forecast well above it", forecast, ab.Amount)
			}
			if lastMonth, _ := cost("platform", "LAST_MONTH", ""); !(12*lastMonth > ab.Amount) {
				t.Errorf("platform: twelve times last month (%.0f) is under the annual budget %v", 12*lastMonth, ab.Amount)
			}

			// Support: verify-sms from this month only, every day of it.
			if _, seen := cost("support", "LAST_MONTH", demoLaunchCategory); seen {
				t.Errorf("support spent on %s last month", demoLaunchCategory)
			}
			month, seen := cost("support", "THIS_MONTH", demoLaunchCategory)
			if !seen || month <= 0 {
				t.Errorf("support: %s this month %v (seen %v), want spend", demoLaunchCategory, month, seen)
			}
			yesterday, seen := cost("support", "YESTERDAY", demoLaunchCategory)
			if now.Day() == 1 {
				if seen {
					t.Errorf("on the 1st, yesterday (last month) has %s spend %v", demoLaunchCategory, yesterday)
				}
			} else if yesterday < demoLaunchDaily-0.1 {
				t.Errorf("support: %s yesterday %v, want a steady %v", demoLaunchCategory, yesterday, demoLaunchDaily)
			}
			if _, seen := cost("marketing", "THIS_MONTH", demoLaunchCategory); seen {
				t.Errorf("marketing spends on %s: only support starts on it", demoLaunchCategory)
			}

			// Monthly budgets: marketing's month forecast above, support's
			// (with the new category) below.
			monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
			monthLen := monthStart.AddDate(0, 1, 0).Sub(monthStart).Seconds()
			if now.Sub(monthStart) >= 3*24*time.Hour {
				for name, over := range map[string]bool{"marketing": true, "support": false} {
					mtd, _ := cost(name, "THIS_MONTH", "")
					f := mtd / now.Sub(monthStart).Seconds() * monthLen
					if b := byName[name].Budget; b == nil || (f > b.Amount) != over {
						t.Errorf("%s: month forecast %.0f, budget %+v; want over %v", name, f, b, over)
					}
				}
			}
		})
	}
}
