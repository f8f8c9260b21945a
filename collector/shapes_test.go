package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// shapeEnv is the client, cache and collector against a simulated API whose
// answers take one of the shapes the docs allow, with pages large enough
// that a month of DAILY rows fits in a few.
type shapeEnv struct {
	t      *testing.T
	clk    *testsupport.Clock
	sim    *usagesim.Server
	groups []Group
	cache  *Cache
	logs   *testsupport.SyncBuffer
}

func newShapeEnv(t *testing.T, sh usagesim.Shapes) *shapeEnv {
	t.Helper()
	e := &shapeEnv{t: t, clk: testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)), logs: &testsupport.SyncBuffer{}}
	e.sim = usagesim.New(usagesim.Options{Now: e.clk.Now, TokenTTL: 10000 * time.Hour, Shapes: sh})
	client := simtest.Client(t, simtest.Start(t, e.sim), 1000, nil)
	for _, g := range usagesim.DemoGroups() {
		e.groups = append(e.groups, Group{ID: g.ID, Label: g.Name, TTL: [NumPeriods]time.Duration{Yesterday: time.Hour}})
	}
	e.cache = NewCache(client, monthly(faultTTL, e.groups...), CacheOptions{RetryInterval: faultRetry, Now: e.clk.Now, Logger: newLogfmt(e.logs), Concurrency: 4})
	t.Cleanup(e.cache.Close)
	return e
}

func (e *shapeEnv) scrape() map[string]float64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return gatherValues(e.t, New(e.cache.Get(ctx)))
}

// yesterdayCosts are the yesterday cost series g must serve: the exact sums
// of what the API holds for yesterday.
func yesterdayCosts(t *testing.T, sim *usagesim.Server, g Group) map[string]float64 {
	t.Helper()
	records, _ := sim.Records(g.ID, "YESTERDAY")
	sums := testsupport.ExactSums{}
	for _, r := range records {
		sums.AddFloat(t, fmt.Sprintf(`twilio_billing_group_yesterday_cost{billing_group=%q,currency=%q,product_category=%q}`, g.Label, r.Price.Currency, r.ProductCategory), r.Price.Amount)
	}
	return sums.Floats()
}

// TestShapesServeExactFigures: DAILY rows where MONTHLY was asked, lower-case
// currencies and the records under "items" all give exactly the figures the
// API holds, with upper-case currency labels.
func TestShapesServeExactFigures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape usagesim.Shapes
		days  int // records per product this month: 1 for a roll-up, 26 for DAILY rows
	}{
		{"DAILY rows whatever is asked", usagesim.Shapes{DefaultAggregation: "DAILY", IgnoreAggregation: true}, 26},
		{"lower-case currency", usagesim.Shapes{LowerCaseCurrency: true}, 1},
		{"records under items", usagesim.Shapes{RecordsKey: "items"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newShapeEnv(t, tc.shape)
			got := e.scrape()
			for _, g := range e.groups {
				if up := got[upSeries(g.Label)]; up != 1 {
					t.Errorf("%s: up = %v, want 1:\n%s", g.Label, up, e.logs)
				}
				want := simSeries(t, e.sim, e.clk.Now(), g)
				records := fmt.Sprintf(`twilio_billing_group_records{billing_group=%q}`, g.Label)
				want[records] *= float64(tc.days)
				if d := diffSeries(dataSeries(got, g.Label), want); d != "" {
					t.Errorf("%s: series differ from the API's figures:%s", g.Label, d)
				}
				for k, v := range yesterdayCosts(t, e.sim, g) {
					if got[k] != v {
						t.Errorf("%s = %v, want %v", k, got[k], v)
					}
				}
			}
			if e.logs.String() != "" {
				t.Errorf("logged:\n%s", e.logs)
			}
		})
	}
}

// TestShapesRefusedKeepLastGoodData: roll-ups beside their days would count
// usage twice. Each group's period is refused with up 0 and one log line
// naming the rows, and the last good snapshot keeps being served.
func TestShapesRefusedKeepLastGoodData(t *testing.T) {
	e := newShapeEnv(t, usagesim.Shapes{})
	before := e.scrape()
	e.clk.Add(time.Hour) // both periods' snapshots expire, within the day
	e.sim.SetShapes(usagesim.Shapes{OverlappingRollups: true})
	got := e.scrape()
	for range 2 {
		e.clk.Add(faultRetry + time.Second)
		got = e.scrape()
	}
	logs := e.logs.String()
	for _, g := range e.groups {
		if up := got[upSeries(g.Label)]; up != 0 {
			t.Errorf("%s: up = %v, want 0", g.Label, up)
		}
		if up := got[fmt.Sprintf(`twilio_billing_group_yesterday_up{billing_group=%q}`, g.Label)]; up != 0 {
			t.Errorf("%s: yesterday up = %v, want 0", g.Label, up)
		}
		if d := diffSeries(dataSeries(got, g.Label), dataSeries(before, g.Label)); d != "" {
			t.Errorf("%s: the last good snapshot is not what is served:%s", g.Label, d)
		}
		for k, v := range before {
			if strings.Contains(k, "yesterday_cost") && containsLabel(k, "twilio_billing_group_yesterday_cost", g.Label) && got[k] != v {
				t.Errorf("%s = %v, want the last good %v", k, got[k], v)
			}
		}
		// This month's answer: the roll-ups (page 1, records 0..n-1) then
		// 26 days of n DAILY rows. The first product of the answer is
		// named; every DAILY row overlaps its roll-up.
		month, _ := e.sim.Records(g.ID, "THIS_MONTH")
		n, i := len(month), 0
		r := month[i]
		name := fmt.Sprintf("%q %q, %s %s", r.ProductCategory, r.ProductName, r.Usage.Unit, r.Price.Currency)
		want := fmt.Sprintf(`err="collector: this_month: page 1 record %d (%s, 2026-11-01 to 2026-11-26) overlaps page 1 record %d (%s, 2026-11-01 to 2026-11-01) (and %d more overlapping records): the same usage would be counted twice"`,
			i, strings.ReplaceAll(name, `"`, `\"`), n+i, strings.ReplaceAll(name, `"`, `\"`), 26*n-1)
		if c := countLines(logs, "billing_group="+g.Label+" ", "Refresh failed", want); c != 1 {
			t.Errorf("%s: %d lines with %s, want 1:\n%s", g.Label, c, want, logs)
		}
		if c := countLines(logs, "billing_group="+g.Label+" ", "Refresh failed"); c != 2 {
			t.Errorf("%s: %d failure lines after three refused refreshes, want 2 (this month, yesterday):\n%s", g.Label, c, logs)
		}
	}
}
