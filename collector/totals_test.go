package collector

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// TestTotalsAddServesWhatTheRecordsTogetherWould: the year to date the
// backfill keeps as the months' totals added up is served exactly as the
// live exporter serves the year's records summed at once: the same series,
// each amount summed as decimals (0.1 + 0.2 is 0.3, not 0.30000000000000004),
// products named in either month, the category filters applied.
func TestTotalsAddServesWhatTheRecordsTogetherWould(t *testing.T) {
	g := groupB
	g.Exclude = regexp.MustCompile("^excluded$")
	jan := []twilio.Record{
		at(rec("Verify-SMS", "verify", "verifications", 40, 0.1, "EUR"), 1, 0, "2026-01-05", "2026-01-05"),
		at(rec("Recordings-Storage", "recordings", "GB", 2.5, 0.25, "EUR"), 1, 1, "2026-01-05", "2026-01-05"),
		at(rec("Hidden", "excluded", "units", 1, 1, "EUR"), 1, 2, "2026-01-31", "2026-01-31"),
	}
	feb := []twilio.Record{
		at(rec("Verify-SMS", "verify", "verifications", 2, 0.2, "EUR"), 1, 0, "2026-02-01", "2026-02-01"),
		at(rec("Verify-WhatsApp", "verify", "verifications", 1, 0.05, "USD"), 1, 1, "2026-02-03", "2026-02-03"),
		at(rec("Recordings-Minutes", "recordings", "minutes", 120, 0.3, "EUR"), 1, 2, "2026-02-28", "2026-02-28"),
	}
	yearStart, yearEnd := date("2026-01-01"), date("2027-01-01")
	together, err := BackfillTotals(g, append(append([]twilio.Record{}, jan...), feb...), yearStart, yearEnd)
	if err != nil {
		t.Fatal(err)
	}
	sumJan, err := Sum(jan, yearStart, date("2026-02-01"))
	if err != nil {
		t.Fatal(err)
	}
	sumFeb, err := Sum(feb, date("2026-02-01"), date("2026-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	var running *Totals // the running totals start empty, as on 1 January
	for _, month := range []*Totals{sumJan, sumFeb} {
		running = running.Add(month)
	}
	added, err := BackfillFigures(g, running)
	if err != nil {
		t.Fatal(err)
	}
	want := Figures{
		Costs:  []Sample{{"recordings", "EUR", 0.55}, {"verify", "EUR", 0.3}, {"verify", "USD", 0.05}},
		Usages: []Sample{{"recordings", "GB", 2.5}, {"recordings", "minutes", 120}, {"verify", "verifications", 43}},
		Products: []Product{{"recordings", "Recordings-Minutes"}, {"recordings", "Recordings-Storage"},
			{"verify", "Verify-SMS"}, {"verify", "Verify-WhatsApp"}},
	}
	if !reflect.DeepEqual(together, want) {
		t.Fatalf("the records summed at once:\n got %+v\nwant %+v", together, want)
	}
	if !reflect.DeepEqual(added, want) {
		t.Errorf("the months' totals added up:\n got %+v\nwant %+v", added, want)
	}
}

// TestBackfillFiguresKeepsTheSeriesLimitOverTheYear: months each within the
// limit whose year makes more series than the group allows are refused, as
// the live refresh of the year would be.
func TestBackfillFiguresKeepsTheSeriesLimitOverTheYear(t *testing.T) {
	g := groupB
	g.MaxSeries = 3 // one cost, one usage, one product_info series
	jan, err := Sum([]twilio.Record{rec("Verify-SMS", "verify", "verifications", 1, 1, "EUR")}, date("2026-01-01"), date("2026-02-01"))
	if err != nil {
		t.Fatal(err)
	}
	feb, err := Sum([]twilio.Record{rec("Lookup", "lookups", "lookups", 1, 1, "EUR")}, date("2026-02-01"), date("2026-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	for _, month := range []*Totals{jan, feb} {
		if _, err := BackfillFigures(g, month); err != nil {
			t.Fatalf("one month: %v", err)
		}
	}
	_, err = BackfillFigures(g, jan.Add(feb))
	want := "the records make 6 series (2 cost, 2 usage, 2 product_info), more than twilio.max_series (3)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("the year: error %v, want one containing %q", err, want)
	}
}
