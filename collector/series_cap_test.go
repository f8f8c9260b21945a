package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// TestMaxSeriesFailsTheRefresh: records making more series than MaxSeries
// fail the refresh with an error naming the limit; the group reports up 0,
// keeps its last good snapshot, and nothing of the oversized answer is
// exported. At the limit exactly, the snapshot is served.
func TestMaxSeriesFailsTheRefresh(t *testing.T) {
	g := groupB
	g.MaxSeries = 3 // usageB: 1 cost, 1 usage, 1 product_info series
	h := newHarness(t, []Group{g})
	logs := &testsupport.SyncBuffer{}
	h.cache.opts.Logger = newLogfmt(logs)
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	h.scrape(t, time.Second, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
`, "twilio_billing_group_up")

	flood := &twilio.Usage{AsOf: date("2026-11-26"), Pages: 1}
	for i := range 50 {
		flood.Records = append(flood.Records, rec("p", fmt.Sprintf("category-%02d", i), "units", 1, 1, "EUR"))
	}
	h.clock.Add(16 * time.Minute)
	h.fake.set(idB, flood, nil)
	h.scrape(t, time.Second, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 1.5
`+upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 0
`, "twilio_billing_group_cost", "twilio_billing_group_up")
	want := "collector: the records make 150 series (50 cost, 50 usage, 50 product_info), more than twilio.max_series (3); raise it if that many product categories, currencies and units are real"
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs.String())
	}
}

// TestBackfillTotalsKeepsTheSeriesLimit: history is refused where the live
// exporter would refuse the refresh, so a backfill never writes figures the
// exporter would not have served.
func TestBackfillTotalsKeepsTheSeriesLimit(t *testing.T) {
	g := groupB
	g.MaxSeries = 3
	start, end := date("2026-11-01"), date("2026-12-01")
	f, err := BackfillTotals(g, usageB("2026-11-26", 1.5).Records, start, end)
	if err != nil || len(f.Costs) != 1 || f.Costs[0].Value != 1.5 {
		t.Fatalf("at the limit: %+v, %v; want one cost of 1.5", f, err)
	}
	var flood []twilio.Record
	for i := range 50 {
		flood = append(flood, rec("p", fmt.Sprintf("category-%02d", i), "units", 1, 1, "EUR"))
	}
	want := "collector: the records make 150 series (50 cost, 50 usage, 50 product_info), more than twilio.max_series (3); raise it if that many product categories, currencies and units are real"
	if _, err := BackfillTotals(g, flood, start, end); err == nil || err.Error() != want {
		t.Errorf("over the limit: error %v, want %q", err, want)
	}
}
