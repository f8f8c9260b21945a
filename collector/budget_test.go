package collector

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

// TestLogsBudgetCurrencyMatchingNoCost: a budget in a currency the group is
// not billed in can never be compared with its cost; the exporter says so
// once, not on every refresh, and again only after a reload changes it
// (to another currency that matches none, too).
func TestLogsBudgetCurrencyMatchingNoCost(t *testing.T) {
	var buf testsupport.SyncBuffer
	fake := newFake()
	clk := testsupport.NewClock(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	g := groupB // billed in EUR
	g.Label = "support"
	g.Budget = &Budget{Amount: 100, Currency: "USD"}
	c := NewCache(fake, monthly(time.Minute, g), CacheOptions{Now: clk.Now, Logger: newLogfmt(&buf), Concurrency: 4})
	defer c.Close()
	fake.set(idB, usageB("2026-11-26", 1), nil)
	for range 3 {
		c.Get(context.Background())
		clk.Add(2 * time.Minute)
	}
	g.Budget = &Budget{Amount: 100, Currency: "EUR"} // fixed by a reload
	c.SetGroups(monthly(time.Minute, g))
	c.Get(context.Background())
	clk.Add(2 * time.Minute)
	g.Budget = &Budget{Amount: 100, Currency: "GBP"}
	c.SetGroups(monthly(time.Minute, g))
	c.Get(context.Background())
	clk.Add(2 * time.Minute)
	c.Get(context.Background())
	g.Budget = &Budget{Amount: 100, Currency: "JPY"} // another wrong one, straight away
	c.SetGroups(monthly(time.Minute, g))
	c.Get(context.Background())
	clk.Add(2 * time.Minute)
	c.Get(context.Background())
	want := `level=warn billing_group=support msg="The budget's currency matches none of this month's cost series: the budget alerts and panels cannot compare them; set the budget in the currency Twilio bills the group in" budget_currency=USD cost_currencies=EUR
level=warn billing_group=support msg="The budget's currency matches none of this month's cost series: the budget alerts and panels cannot compare them; set the budget in the currency Twilio bills the group in" budget_currency=GBP cost_currencies=EUR
level=warn billing_group=support msg="The budget's currency matches none of this month's cost series: the budget alerts and panels cannot compare them; set the budget in the currency Twilio bills the group in" budget_currency=JPY cost_currencies=EUR
`
	if got := buf.String(); got != want {
		t.Fatalf("log:\n%s\nwant:\n%s", got, want)
	}
}

func TestBudgetMismatch(t *testing.T) {
	costs := &Snapshot{Costs: []Sample{{Category: "a", Unit: "USD"}, {Category: "b", Unit: "EUR"}, {Category: "c", Unit: "USD"}}}
	for _, tc := range []struct {
		name string
		b    *Budget
		s    *Snapshot
		want string
	}{
		{"no budget", nil, costs, ""},
		{"matching", &Budget{Currency: "EUR"}, costs, ""},
		{"no cost yet this month", &Budget{Currency: "GBP"}, &Snapshot{}, ""},
		{"mismatch", &Budget{Currency: "GBP"}, costs, "EUR,USD"},
	} {
		if got := budgetMismatch(tc.b, tc.s); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestLogsAnnualBudgetCurrencyMatchingNoCost: the annual budget is compared
// with the year's costs, once, naming the period; a monthly budget in the
// right currency says nothing.
func TestLogsAnnualBudgetCurrencyMatchingNoCost(t *testing.T) {
	var buf testsupport.SyncBuffer
	h := newPeriodHarness(t, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	h.serveDefaults()
	c := NewCache(h.fake, monthly(time.Minute, Group{ID: idB, Label: "support", TTL: [NumPeriods]time.Duration{ThisYear: 6 * time.Hour},
		Budget: &Budget{Amount: 40, Currency: "EUR"}, AnnualBudget: &Budget{Amount: 400, Currency: "USD"}}),
		CacheOptions{Now: h.clock.Now, Logger: newLogfmt(&buf), Concurrency: 4})
	defer c.Close()
	for range 3 {
		c.Get(context.Background())
		h.clock.Add(7 * time.Hour)
	}
	want := `level=warn billing_group=support period=this_year msg="The annual budget's currency matches none of this year's cost series: the annual budget alerts and panels cannot compare them; set the annual budget in the currency Twilio bills the group in" budget_currency=USD cost_currencies=EUR
`
	if got := buf.String(); got != want {
		t.Fatalf("log:\n%s\nwant:\n%s", got, want)
	}
}

// TestPlannedCategories: each planned category of a group is one series of
// twilio_billing_group_planned_category_info, whether or not the group has
// spent in it yet, and a group with none has none.
func TestPlannedCategories(t *testing.T) {
	a := groupA
	a.PlannedCategories = []string{"whatsapp-outbound", "lookups"}
	h := newHarness(t, []Group{a, groupB})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	h.scrape(t, time.Minute, `# HELP twilio_billing_group_planned_category_info A product category the billing group starts to use on purpose (billing_groups[].planned_categories); always 1.
# TYPE twilio_billing_group_planned_category_info gauge
twilio_billing_group_planned_category_info{billing_group="marketing",product_category="lookups"} 1
twilio_billing_group_planned_category_info{billing_group="marketing",product_category="whatsapp-outbound"} 1
`, "twilio_billing_group_planned_category_info")
}

// TestGroupInfo: every configured group has one twilio_billing_group_info
// series, value 1, whether or not it sets owner labels, so that the alerts'
// join keeps every group; a label one group sets is empty (absent to
// Prometheus) on the other's series.
func TestGroupInfo(t *testing.T) {
	a := groupA
	a.Labels = map[string]string{"team": "growth", "cost_center": "4711"}
	h := newHarness(t, []Group{a, groupB})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	got := h.exposition(t, "twilio_billing_group_info")
	want := `# HELP twilio_billing_group_info Owner labels of the billing group (billing_groups[].labels), for joins in alerts and dashboards; always 1, one series per configured group.
# TYPE twilio_billing_group_info gauge
twilio_billing_group_info{billing_group="commerce_billingprofile_BBB222",cost_center="",team=""} 1
twilio_billing_group_info{billing_group="marketing",cost_center="4711",team="growth"} 1
`
	if got != want {
		t.Fatalf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

// exposition is the text format of family name as client_golang serves it
// from the cache's state (the exposition package holds its encoding to
// this).
func (h *harness) exposition(t *testing.T, name string) string {
	t.Helper()
	mfs, err := registryFor(New(h.cache.Get(context.Background()))).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var b bytes.Buffer
			if err := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain)).Encode(mf); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
	}
	t.Fatalf("no family %s served", name)
	return ""
}

// TestBudgetAlertThresholds: a group with a budget exports the shares at
// which its budget alerts fire, one series per level; a group without a
// budget exports none.
func TestBudgetAlertThresholds(t *testing.T) {
	a := groupA
	a.Thresholds = &Thresholds{Nearly: 0.7, Warning: 0.9, Critical: 1.2}
	h := newHarness(t, []Group{a, groupB})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	h.scrape(t, time.Minute, `# HELP twilio_billing_group_budget_alert_threshold_ratio Share of the monthly budget at which a budget alert fires for the billing group (billing_groups[].budget_alert_thresholds, or the defaults), by level: nearly (TwilioBillingBudgetNearlyExhausted), warning and critical (TwilioBillingBudgetExceeded).
# TYPE twilio_billing_group_budget_alert_threshold_ratio gauge
twilio_billing_group_budget_alert_threshold_ratio{billing_group="marketing",level="critical"} 1.2
twilio_billing_group_budget_alert_threshold_ratio{billing_group="marketing",level="nearly"} 0.7
twilio_billing_group_budget_alert_threshold_ratio{billing_group="marketing",level="warning"} 0.9
`, "twilio_billing_group_budget_alert_threshold_ratio")
}
