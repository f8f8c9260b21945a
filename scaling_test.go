package main

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// TestHAPrometheusPairDoesNotMultiplyTwilioCalls scrapes one exporter from two
// concurrent scrapers (an HA Prometheus pair) over HTTP for several cache
// lifetimes, many scrapes in each. Twilio must see exactly groups x pages x
// lifetimes records requests: one refresh per lifetime however many scrapes
// ask, each seen as a new snapshot by the scrapers (plus one fetch each of
// yesterday, last month and this year, whose lifetimes are hours). Lifetimes end when
// the test moves the clock, not when time passes, so the counts are exact.
func TestHAPrometheusPairDoesNotMultiplyTwilioCalls(t *testing.T) {
	const (
		ttl       = time.Minute
		lifetimes = 6
		scrapers  = 2
		perScrape = 12 // scrapes by each scraper in each lifetime
		pageSize  = 10
	)
	clk := testsupport.NewClock(time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC))
	start := clk.Now()
	sim := usagesim.New(usagesim.Options{ClientID: "test-client", ClientSecret: testSecret, Now: clk.Now})
	inst := simtest.Start(t, sim)
	groups := usagesim.DemoGroups()
	var section string
	for _, g := range groups {
		section += fmt.Sprintf("  - id: %s\n    name: %s\n", g.ID, g.Name)
	}
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, section)
	beforeGroups(t, path, fmt.Sprintf("  page_size: %d\n", pageSize))
	o := testOptions()
	o.cacheTTL = ttl
	o.now = clk.Now
	// A scrape waits for the refresh it triggers, so every lifetime's new
	// snapshot is seen; a minute only bounds a hang.
	o.scrapeTimeout = time.Minute
	ex := newTestExporterWith(t, path, o)
	defer http.DefaultClient.CloseIdleConnections()

	// Every snapshot the scrapers see, by group: its last success time.
	var seen testsupport.Tally
	for range lifetimes {
		if err := seen.Scrape(ex.server.URL+"/metrics", scrapers, perScrape); err != nil {
			t.Fatal(err)
		}
		clk.Add(ttl)
	}
	stats := sim.Stats()

	// The snapshots of a group are exactly one per lifetime, each refreshed
	// at the start of its lifetime.
	var lifetimeStarts []float64
	for i := range lifetimes {
		lifetimeStarts = append(lifetimeStarts, float64(start.Add(time.Duration(i)*ttl).Unix()))
	}
	// request_encoding auto (the default) learns where parameters travel
	// with one request (a JSON body is honoured at once), once per process.
	want := 1
	refreshRequests := 0 // of month to date, the period whose lifetime ends
	for _, g := range groups {
		n, ok := seen.Records[g.Name]
		if !ok || n == 0 {
			t.Fatalf("no records seen for %s", g.Name)
		}
		pages := int(math.Ceil(n / pageSize))
		refreshes := len(seen.Snapshots[g.Name])
		if refreshes != lifetimes {
			t.Errorf("%s: %d refreshes in %d cache lifetimes, want one per lifetime", g.Name, refreshes, lifetimes)
		}
		for _, ts := range lifetimeStarts {
			if !seen.Snapshots[g.Name][ts] {
				t.Errorf("%s: no snapshot refreshed at %s; seen %v", g.Name, time.Unix(int64(ts), 0).UTC().Format(time.RFC3339), seen.Snapshots[g.Name])
			}
		}
		want += pages * refreshes
		refreshRequests += pages * refreshes
		t.Logf("%s: %v records, %d pages, %d refreshes", g.Name, n, pages, refreshes)
		// Yesterday, last month and this year are on by default with
		// lifetimes of hours: each is fetched exactly once during the run.
		for _, period := range []string{"YESTERDAY", "LAST_MONTH", "THIS_YEAR"} {
			recs, _ := sim.Records(g.ID, period)
			want += max(1, int(math.Ceil(float64(len(recs))/pageSize)))
		}
	}
	t.Logf("%d scrapes from %d scrapers; %d records requests, %d token requests", seen.Scrapes, scrapers, stats.RecordsRequests, stats.TokenRequests)
	if stats.RecordsRequests != want {
		t.Errorf("Twilio saw %d records requests, want 1 + groups x pages x refreshes = %d (from %d scrapes)", stats.RecordsRequests, want, seen.Scrapes)
	}
	// Guards the test itself: should the simulated data grow to more pages,
	// the scrapes must still far outnumber the refreshes' requests.
	if seen.Scrapes < 4*refreshRequests/len(groups) {
		t.Errorf("only %d scrapes: the test did not scrape much more often than the cache refreshes; raise perScrape", seen.Scrapes)
	}
	if stats.TokenRequests != 1 {
		t.Errorf("Twilio saw %d token requests, want 1 (the token is reused)", stats.TokenRequests)
	}
}
