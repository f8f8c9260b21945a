package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// monthCosts are the month-to-date cost series the exporter must serve for
// the simulator's groups: the exact sums (math/big) of what it holds, as the
// nearest float64.
func monthCosts(t *testing.T, sim *usagesim.Server, labels map[string]string) map[string]float64 {
	t.Helper()
	sums := testsupport.ExactSums{}
	for id, label := range labels {
		records, _ := sim.Records(id, "THIS_MONTH")
		for _, r := range records {
			sums.AddFloat(t, fmt.Sprintf(`twilio_billing_group_cost{billing_group=%q,currency=%q,product_category=%q}`, label, r.Price.Currency, r.ProductCategory), r.Price.Amount)
		}
	}
	return sums.Floats()
}

// costSeries keeps the month-to-date cost series of a scrape.
func costSeries(samples map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range samples {
		if strings.HasPrefix(k, "twilio_billing_group_cost{") {
			out[k] = v
		}
	}
	return out
}

func diffCosts(got, want map[string]float64) string {
	var b strings.Builder
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			fmt.Fprintf(&b, "\n  %s = %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "\n  unexpected %s", k)
		}
	}
	return b.String()
}

// shapeConfig writes a config of the first two demo groups, month to date
// only, with extra twilio settings.
func shapeConfig(t *testing.T, inst *usagesim.Instance, twilioExtra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	beforeGroups(t, path, twilioExtra+"periods:\n  yesterday: {enabled: false}\n  last_month: {enabled: false}\n  this_year: {enabled: false}\n")
	return path
}

var labelsAB = map[string]string{usagesim.DemoGroups()[0].ID: "marketing", usagesim.DemoGroups()[1].ID: "support"}

// TestShapesExactFigures runs the exporter against each readable shape of
// the simulated API: every cost is the exact sum of the API's figures, with
// upper-case currency labels.
func TestShapesExactFigures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape usagesim.Shapes
	}{
		{"DAILY rows whatever is asked", usagesim.Shapes{DefaultAggregation: "DAILY", IgnoreAggregation: true}},
		{"lower-case currency", usagesim.Shapes{LowerCaseCurrency: true}},
		{"records under items", usagesim.Shapes{RecordsKey: "items"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, inst := frozenSimulator(t)
			sim.SetShapes(tc.shape)
			ex := newTestExporter(t, shapeConfig(t, inst, ""))
			_, text, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
			got := exposition(t, text)
			for _, label := range labelsAB {
				if up := got[fmt.Sprintf(`twilio_billing_group_up{billing_group=%q}`, label)]; up != 1 {
					t.Errorf("%s: up %v, want 1:\n%s", label, up, ex.logs)
				}
			}
			if d := diffCosts(costSeries(got), monthCosts(t, sim, labelsAB)); d != "" {
				t.Errorf("costs differ from the API's exact sums:%s", d)
			}
		})
	}
}

// TestShapesRefused: rows that would be counted twice turn each group to
// up 0 with one log line naming the rows, and the exporter keeps serving the
// last good figures.
func TestShapesRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		shape   usagesim.Shapes
		extra   string
		wantErr string // a regular expression
	}{
		// A month's roll-up, then one of its days.
		{"MONTHLY roll-ups beside DAILY rows", usagesim.Shapes{OverlappingRollups: true}, "",
			`err="collector: this_month: page 1 record \d+ \(.*, \d{4}-\d\d-01 to \d{4}-\d\d-\d\d\) overlaps page \d+ record \d+ \(.*, (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)\)`},
		// The last row of a page of 5, then the first of the next.
		{"offset pages repeat a row", usagesim.Shapes{RepeatAcrossPages: true}, "  page_size: 5\n",
			`err="collector: this_month: page \d+ record 4 \(.*\) overlaps page \d+ record 0 \(`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One hand-moved clock for the simulator and the exporter, in
			// the middle of a month: each step below passes the cache's
			// lifetime and retry interval (a minute), so every scrape
			// refreshes, however fast the machine.
			clock := testsupport.NewClock(time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC))
			sim, inst := simulatorWith(t, func(o *usagesim.Options) { o.Now = clock.Now })
			o := testOptions()
			o.cacheTTL, o.now = time.Minute, clock.Now
			ex := newTestExporterWith(t, shapeConfig(t, inst, tc.extra), o)
			_, text, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
			before := costSeries(exposition(t, text))
			if d := diffCosts(before, monthCosts(t, sim, labelsAB)); d != "" || len(before) == 0 {
				t.Fatalf("healthy scrape: costs differ from the API's exact sums:%s", d)
			}

			sim.SetShapes(tc.shape)
			var got map[string]float64
			for range 3 {
				clock.Add(time.Minute) // past the lifetime and retry interval
				_, text, _ = request(t, http.MethodGet, ex.server.URL+"/metrics")
				got = exposition(t, text)
			}
			if d := diffCosts(costSeries(got), before); d != "" {
				t.Errorf("the last good figures are not what is served:%s", d)
			}
			logs := ex.logs.String()
			for _, label := range labelsAB {
				if up := got[fmt.Sprintf(`twilio_billing_group_up{billing_group=%q}`, label)]; up != 0 {
					t.Errorf("%s: up %v, want 0", label, up)
				}
				failed := 0
				for _, l := range strings.Split(logs, "\n") {
					if strings.Contains(l, "billing_group="+label) && strings.Contains(l, "Refresh failed") {
						failed++
						if !regexp.MustCompile(tc.wantErr).MatchString(l) || !strings.Contains(l, "the same usage would be counted twice") {
							t.Errorf("%s: the failure line does not name the overlapping rows:\n%s", label, l)
						}
					}
				}
				if failed != 1 {
					t.Errorf("%s: %d failure lines after three refused refreshes, want 1:\n%s", label, failed, logs)
				}
			}
		})
	}
}

// frozenSimulator is the test simulator with its clock stopped at the
// test's start: its figures grow with time, and a test that compares a
// scrape with the simulator's own sums a moment later must see the same
// data in both. (The exporter's clock runs on; both stay in the same UTC day
// unless the test straddles midnight.)
func frozenSimulator(t *testing.T) (*usagesim.Server, *usagesim.Instance) {
	t.Helper()
	now := time.Now()
	return simulatorWith(t, func(o *usagesim.Options) { o.Now = func() time.Time { return now } })
}
