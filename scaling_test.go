package main

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// testClock is a clock the test moves by hand, shared by the exporter's
// cache and the simulator, so that cache lifetimes pass when the test says,
// however fast or slow the machine is.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

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
	clk := &testClock{t: time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC)}
	start := clk.Now()
	sim := usagesim.New(usagesim.Options{ClientID: "test-client", ClientSecret: testSecret, Now: clk.Now})
	inst, err := usagesim.Start(sim, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
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
	var (
		mu        sync.Mutex
		snapshots = map[string]map[float64]bool{}
		records   = map[string]float64{}
		scrapes   int
	)
	for range lifetimes {
		var wg sync.WaitGroup
		errs := make(chan error, scrapers)
		for range scrapers {
			wg.Go(func() {
				for range perScrape {
					fams, err := scrapeFamilies(ex.server.URL + "/metrics")
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					scrapes++
					for _, m := range fams["twilio_billing_group_last_success_timestamp_seconds"].GetMetric() {
						g := m.GetLabel()[0].GetValue()
						if snapshots[g] == nil {
							snapshots[g] = map[float64]bool{}
						}
						snapshots[g][m.GetGauge().GetValue()] = true
					}
					for _, m := range fams["twilio_billing_group_records"].GetMetric() {
						records[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
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
		n, ok := records[g.Name]
		if !ok || n == 0 {
			t.Fatalf("no records seen for %s", g.Name)
		}
		pages := int(math.Ceil(n / pageSize))
		refreshes := len(snapshots[g.Name])
		if refreshes != lifetimes {
			t.Errorf("%s: %d refreshes in %d cache lifetimes, want one per lifetime", g.Name, refreshes, lifetimes)
		}
		for _, ts := range lifetimeStarts {
			if !snapshots[g.Name][ts] {
				t.Errorf("%s: no snapshot refreshed at %s; seen %v", g.Name, time.Unix(int64(ts), 0).UTC().Format(time.RFC3339), snapshots[g.Name])
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
	t.Logf("%d scrapes from %d scrapers; %d records requests, %d token requests", scrapes, scrapers, stats.RecordsRequests, stats.TokenRequests)
	if stats.RecordsRequests != want {
		t.Errorf("Twilio saw %d records requests, want 1 + groups x pages x refreshes = %d (from %d scrapes)", stats.RecordsRequests, want, scrapes)
	}
	// Guards the test itself: should the simulated data grow to more pages,
	// the scrapes must still far outnumber the refreshes' requests.
	if scrapes < 4*refreshRequests/len(groups) {
		t.Errorf("only %d scrapes: the test did not scrape much more often than the cache refreshes; raise perScrape", scrapes)
	}
	if stats.TokenRequests != 1 {
		t.Errorf("Twilio saw %d token requests, want 1 (the token is reused)", stats.TokenRequests)
	}
}

// scrapeFamilies GETs and parses an exposition, returning errors instead of
// failing the test, for goroutines other than the test's.
func scrapeFamilies(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}
