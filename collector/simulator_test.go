package collector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// TestAgainstSimulator runs the cache and collector over the real client and
// the simulated Usage API: every group's exported cost and usage must equal
// the sums of the records the API serves, across pages, and one broken group
// must not disturb the others.
func TestAgainstSimulator(t *testing.T) {
	clk := testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
	sim := usagesim.New(usagesim.Options{Now: clk.Now, DefaultPageSize: 7})
	client := simtest.Client(t, simtest.Start(t, sim), 7, nil)
	var groups []Group
	for _, g := range usagesim.DemoGroups() {
		groups = append(groups, Group{ID: g.ID, Label: g.Name})
	}
	broken := groups[1]
	sim.InjectFault(usagesim.Fault{Kind: usagesim.BadRecord, BillingGroup: broken.ID, Page: 2})

	cache := NewCache(client, monthly(15*time.Minute, groups...), CacheOptions{Now: clk.Now, Concurrency: 4})
	defer cache.Close()
	got := gatherValues(t, New(cache.Get(context.Background())))

	for _, g := range groups {
		up := got[fmt.Sprintf(`twilio_billing_group_up{billing_group=%q}`, g.Label)]
		if g.ID == broken.ID {
			if up != 0 {
				t.Errorf("%s: up = %v, want 0 (a record on page 2 is malformed)", g.Label, up)
			}
			for k := range got {
				if containsLabel(k, "twilio_billing_group_cost", g.Label) {
					t.Errorf("broken group %s exported %s from a partial fetch", g.Label, k)
				}
			}
			continue
		}
		if up != 1 {
			t.Errorf("%s: up = %v, want 1", g.Label, up)
		}
		records, _ := sim.Records(g.ID, "THIS_MONTH")
		costs, usages := testsupport.ExactSums{}, testsupport.ExactSums{}
		for _, r := range records {
			costs.AddFloat(t, fmt.Sprintf(`twilio_billing_group_cost{billing_group=%q,currency=%q,product_category=%q}`, g.Label, r.Price.Currency, r.ProductCategory), r.Price.Amount)
			usages.Add(t, fmt.Sprintf(`twilio_billing_group_usage{billing_group=%q,product_category=%q,unit=%q}`, g.Label, r.ProductCategory, r.Usage.Unit), r.Usage.Amount)
		}
		wantCost, wantUsage := costs.Floats(), usages.Floats()
		if len(records) <= 7 {
			t.Fatalf("%s has %d records; the test needs more than one page of 7", g.Label, len(records))
		}
		for _, want := range []map[string]float64{wantCost, wantUsage} {
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		}
		n := 0
		for k := range got {
			if containsLabel(k, "twilio_billing_group_cost", g.Label) {
				n++
			}
		}
		if n != len(wantCost) {
			t.Errorf("%s: %d cost series, want %d", g.Label, n, len(wantCost))
		}
		if rec := got[fmt.Sprintf(`twilio_billing_group_records{billing_group=%q}`, g.Label)]; rec != float64(len(records)) {
			t.Errorf("%s: records = %v, want %d", g.Label, rec, len(records))
		}
	}
}

// gatherValues collects c once and returns every sample keyed by its series
// in exposition form, labels sorted by name.
func gatherValues(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	mfs, err := registryFor(c).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			key := mf.GetName() + "{"
			for i, l := range m.Label {
				if i > 0 {
					key += ","
				}
				key += fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
			}
			out[key+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

func containsLabel(series, metric, group string) bool {
	prefix := metric + "{" + fmt.Sprintf("billing_group=%q", group)
	return len(series) >= len(prefix) && series[:len(prefix)] == prefix
}
